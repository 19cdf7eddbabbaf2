package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
)

// Tuning for one operator serving hundreds of namespaces (figures in docs/benchmarks.md).
const (
	// ClientQPS and ClientBurst replace client-go's 20/30 requests per second, which made a
	// 1000-object convergence wait on the client's own rate limiter rather than on the API
	// server. The API server still protects itself with priority and fairness.
	ClientQPS   = 500
	ClientBurst = 1000
	// MaxConcurrentReconciles per controller: reconciles wait on the API server, not on
	// CPU, so a few in flight keep a large backlog moving without flooding it.
	MaxConcurrentReconciles = 8
	// LeaderElectionID is the Lease the manager replicas compete for.
	LeaderElectionID = "push-operator.pushops.dev"
)

// managedBy selects the objects this operator created (every builder sets the label).
var managedBy = labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": "push-operator"})

// ManagerOptions are the manager options the binary ships with; main adds the metrics,
// probe and leader election flags, and the tests and the benchmark start from the same
// options so they measure what runs in a cluster.
//
//   - The cache strips managedFields from every object: the controllers never read them
//     and they are often the largest part of an object.
//   - Deployments are cached only when the operator made them: a cluster has many, and
//     only the relay's are children. (Services, Ingresses and ConfigMaps are not filtered:
//     MobileProxy watches the chat server's own Service, and a user's CA bundle ConfigMap.)
//     Of those, only what the rollout status needs is kept (see rolloutOnly).
//   - Secrets are watched by metadata only (see the controllers' SetupWithManager).
func ManagerOptions(scheme *runtime.Scheme) ctrl.Options {
	return ctrl.Options{
		Scheme: scheme,
		Cache: cache.Options{
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{
				&appsv1.Deployment{}: {Label: managedBy, Transform: rolloutOnly},
			},
		},
		Controller:                    config.Controller{MaxConcurrentReconciles: MaxConcurrentReconciles},
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
	}
}

// rolloutOnly keeps of a cached Deployment what the PushService controller reads — its
// metadata, spec.replicas and status — and drops the pod template, most of the object. The
// controller writes Deployments only by server-side applying the object it builds, never
// by updating one it read, so nothing it writes comes from the trimmed copy. At 1000
// PushServices this is about a quarter of the manager's heap (docs/benchmarks.md).
func rolloutOnly(in any) (any, error) {
	d, ok := in.(*appsv1.Deployment)
	if !ok {
		return in, nil
	}
	d.ManagedFields = nil
	d.Spec = appsv1.DeploymentSpec{Replicas: d.Spec.Replicas}
	return d, nil
}

// TuneRESTConfig raises the client-side rate limit to ClientQPS/ClientBurst unless the
// config already sets one. It returns a copy; cfg is not changed.
func TuneRESTConfig(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	if out.QPS == 0 {
		out.QPS = ClientQPS
	}
	if out.Burst == 0 {
		out.Burst = ClientBurst
	}
	return out
}
