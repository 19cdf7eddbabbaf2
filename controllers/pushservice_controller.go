package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
)

// RelayImage is the relay image PushServices run unless spec.image says otherwise; the
// manager sets it from --relay-image.
var RelayImage = pushservice.DefaultRelayImage

const (
	// secretIndex indexes PushServices by the names of the Secrets they reference.
	secretIndex = "spec.secretRefs"
	// credentialRetry bounds how soon a PushService with unusable credentials is looked
	// at again; a change to a referenced Secret triggers a reconcile sooner anyway.
	credentialRetry = 2 * time.Minute
)

// PushServiceReconciler reconciles a PushService into a running relay.
type PushServiceReconciler struct {
	client.Client
	Scheme *runtime.Scheme
	// APIReader reads Secrets straight from the API server: the manager caches only their
	// metadata, so credential material is not held in memory cluster-wide.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// RelayImage is the default relay image; empty means the package's RelayImage.
	RelayImage string
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time

	applied appliedVersions
	// kinds remembers which optional kinds are not served; nil asks the REST mapper.
	kinds *servedKinds
}

// Least privilege: children are written with server-side apply (create+patch), never
// updated; Secrets are only read. pushservices/finalizers:update lets the owner references
// block the PushService's deletion where OwnerReferencesPermissionEnforcement is on.
// +kubebuilder:rbac:groups=push.pushops.dev,resources=pushservices,verbs=get;list;watch
// +kubebuilder:rbac:groups=push.pushops.dev,resources=pushservices/status,verbs=get;update
// +kubebuilder:rbac:groups=push.pushops.dev,resources=pushservices/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps;services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile checks the credentials, applies the relay's objects and reports their state.
func (r *PushServiceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ps pushv1alpha1.PushService
	if err := r.Get(ctx, req.NamespacedName, &ps); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ps.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owner references let the garbage collector remove the children
	}
	now := r.now()
	before := ps.Status.DeepCopy()

	creds, problem, err := checkCredentials(ctx, r.APIReader, &ps, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs := observation{credentials: creds, credentialProblem: problem}
	if problem == nil {
		obs.logLevel, _ = pushservice.EffectiveLogLevel(&ps, now)
		var done applied
		done, obs.applyErr = r.applyChildren(ctx, &ps, now)
		obs.changes, obs.deployment = done.changes, done.deployment
	}
	if obs.deployment == nil {
		if obs.deployment, err = r.currentDeployment(ctx, &ps); err != nil {
			return ctrl.Result{}, err
		}
	}
	setStatus(&ps, obs)
	r.announce(&ps, before, problem, obs.changes)
	if !equality.Semantic.DeepEqual(before, &ps.Status) {
		err := r.Status().Update(ctx, &ps)
		switch {
		case apierrors.IsConflict(err):
			log.FromContext(ctx).V(1).Info("status write conflicted, retrying with the newer version")
			return ctrl.Result{RequeueAfter: statusConflictRetry}, nil
		case err != nil:
			return ctrl.Result{}, fmt.Errorf("writing status: %w", err)
		}
	}
	if obs.applyErr != nil {
		return ctrl.Result{}, obs.applyErr
	}
	return ctrl.Result{RequeueAfter: r.requeueAfter(&ps, problem, now)}, nil
}

// childChange is one kind of action applyChildren took, on which children.
type childChange struct {
	action  string // applyCreated, applyUpdated, applyRestored or "deleted"
	objects []string
}

// applied is what applyChildren did.
type applied struct {
	changes []childChange
	// deployment is the relay Deployment as the API server answered the apply; nil when
	// it was not applied (the cache has it then).
	deployment *appsv1.Deployment
}

// applyChildren applies every desired child and removes optional ones no longer wanted,
// and says what it changed. On an error it stops, and what it changed so far is not
// reported: the retry reports it.
func (r *PushServiceReconciler) applyChildren(ctx context.Context, ps *pushv1alpha1.PushService, now time.Time) (applied, error) {
	var out applied
	data, hash, err := pushservice.RenderConfig(pushservice.RelayConfig(ps, now))
	if err != nil {
		return out, err
	}
	image := r.RelayImage
	if image == "" {
		image = RelayImage
	}
	gvk := func(gv schema.GroupVersion, kind string) schema.GroupVersionKind { return gv.WithKind(kind) }
	children := []child{
		{desired: pushservice.ConfigMap(ps, data)},
		{desired: pushservice.Deployment(ps, image, hash)},
		{desired: pushservice.Service(ps)},
		{kind: gvk(networkingv1.SchemeGroupVersion, "Ingress"), desired: optional(pushservice.Ingress(ps))},
		{kind: gvk(policyv1.SchemeGroupVersion, "PodDisruptionBudget"), desired: optional(pushservice.PodDisruptionBudget(ps))},
		{kind: gvk(autoscalingv2.SchemeGroupVersion, "HorizontalPodAutoscaler"), desired: optional(pushservice.HorizontalPodAutoscaler(ps))},
		{kind: gvk(networkingv1.SchemeGroupVersion, "NetworkPolicy"), desired: optional(pushservice.NetworkPolicy(ps))},
	}
	if r.serviceMonitorsInstalled() {
		children = append(children, child{kind: pushservice.ServiceMonitorGVK, desired: optional(pushservice.ServiceMonitor(ps))})
	}
	for _, c := range children {
		action := applySkipped
		if c.desired != nil {
			var stored *unstructured.Unstructured
			action, stored, err = r.applyChild(ctx, ps, c.desired)
			c.kind, c.name = c.desired.GetObjectKind().GroupVersionKind(), c.desired.GetName()
			if d, ok := c.desired.(*appsv1.Deployment); ok && stored != nil && err == nil {
				out.deployment = &appsv1.Deployment{}
				if err = runtime.DefaultUnstructuredConverter.FromUnstructured(stored.Object, out.deployment); err != nil {
					err = fmt.Errorf("reading the applied Deployment %q: %w", d.Name, err)
				}
			}
		} else {
			c.name = ps.Name
			action, err = r.deleteChild(ctx, ps, c)
		}
		if err != nil {
			return applied{}, err
		}
		if action == applySkipped || action == applyRefresh {
			continue
		}
		i := slices.IndexFunc(out.changes, func(ch childChange) bool { return ch.action == action })
		if i < 0 {
			i = len(out.changes)
			out.changes = append(out.changes, childChange{action: action})
		}
		out.changes[i].objects = append(out.changes[i].objects, c.kind.Kind+" "+c.name)
	}
	return out, nil
}

// serviceMonitorsInstalled asks the RESTMapper (which rediscovers on a miss) whether the
// Prometheus Operator's ServiceMonitor CRD is served.
func (r *PushServiceReconciler) serviceMonitorsInstalled() bool {
	gvk := pushservice.ServiceMonitorGVK
	if r.kinds != nil {
		ok, err := r.kinds.served(gvk)
		return ok && err == nil
	}
	_, err := r.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	return err == nil
}

func (r *PushServiceReconciler) currentDeployment(ctx context.Context, ps *pushv1alpha1.PushService) (*appsv1.Deployment, error) {
	var d appsv1.Deployment
	err := r.Get(ctx, client.ObjectKey{Namespace: ps.Namespace, Name: pushservice.DeploymentName(ps)}, &d)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the relay Deployment: %w", err)
	}
	if !metav1.IsControlledBy(&d, ps) {
		return nil, nil
	}
	return &d, nil
}

// announce sends the events a person should see (docs/pushservice.md, "Events"):
// credentials turning bad or good, a certificate entering its last 30 days, children
// updated, restored or deleted, and the relay becoming available. A brand-new PushService
// (no status yet) does not announce the children it creates: the status reports them, and
// the one Available event says when the relay serves.
func (r *PushServiceReconciler) announce(ps *pushv1alpha1.PushService, before *pushv1alpha1.PushServiceStatus, problem *credentialProblem, changes []childChange) {
	if r.Recorder == nil {
		return
	}
	if len(before.Conditions) > 0 {
		// One event per kind of action: events of the same reason about the same object
		// are merged into a series, so a reason must say what happened on its own.
		for _, ch := range changes {
			reason := strings.ToUpper(ch.action[:1]) + ch.action[1:] // Created, Updated, Restored, Deleted
			r.Recorder.Eventf(ps, nil, corev1.EventTypeNormal, reason, "Apply", "%s %s", ch.action, strings.Join(ch.objects, ", "))
		}
	}
	if ready := meta.FindStatusCondition(ps.Status.Conditions, pushv1alpha1.ConditionReady); ready != nil && ready.Status == metav1.ConditionTrue &&
		!meta.IsStatusConditionTrue(before.Conditions, pushv1alpha1.ConditionReady) {
		r.Recorder.Eventf(ps, nil, corev1.EventTypeNormal, ready.Reason, "Rollout", "%s", ready.Message)
	}
	was := meta.FindStatusCondition(before.Conditions, pushv1alpha1.ConditionCredentialsValid)
	switch {
	case problem != nil && (was == nil || was.Status != "False" || was.Message != problem.Message):
		r.Recorder.Eventf(ps, nil, corev1.EventTypeWarning, problem.Reason, "CheckCredentials", "%s; the running relay is left unchanged", problem.Message)
	case problem == nil && was != nil && was.Status == "False":
		r.Recorder.Eventf(ps, nil, corev1.EventTypeNormal, pushv1alpha1.ReasonCredentialsLoaded, "CheckCredentials", "credentials are valid again; rolling out")
	}
	for _, c := range newlyExpiring(before.Credentials, ps.Status.Credentials) {
		r.Recorder.Eventf(ps, nil, corev1.EventTypeWarning, pushv1alpha1.ReasonCertificateExpiresSoon, "CheckCredentials",
			"%s (Secret %q) expires on %s: renew it", c.Name, c.SecretName, c.NotAfter.UTC().Format(time.RFC3339))
	}
}

// requeueAfter is when the PushService must be looked at again although nothing changes:
// the end of debugUntil, a certificate's warning date, or a bounded retry of unusable
// credentials.
func (r *PushServiceReconciler) requeueAfter(ps *pushv1alpha1.PushService, problem *credentialProblem, now time.Time) time.Duration {
	if problem != nil {
		return credentialRetry
	}
	next := nextCredentialCheck(ps.Status.Credentials, now)
	if _, until := pushservice.EffectiveLogLevel(ps, now); !until.IsZero() && (next.IsZero() || until.Before(next)) {
		next = until
	}
	if next.IsZero() {
		return 0
	}
	// A second late so the time has surely passed when the reconcile runs.
	return next.Sub(now) + time.Second
}

func (r *PushServiceReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager registers the reconciler, its owned kinds and the Secret watch.
func (r *PushServiceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("push-operator")
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pushv1alpha1.PushService{}, secretIndex,
		func(o client.Object) []string { return pushservice.SecretNames(o.(*pushv1alpha1.PushService)) }); err != nil {
		return fmt.Errorf("indexing PushServices by Secret: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		// Only spec changes: the children are built from the spec alone, and the controller's
		// own status writes would otherwise bring every PushService back once more.
		For(&pushv1alpha1.PushService{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Children's create events are this controller's own creates (see ignoreCreates);
		// the reconcile that made the Deployment reads its status from the apply's answer.
		Owns(&appsv1.Deployment{}, ignoreCreates). // its status makes the PushService's
		Owns(&corev1.Service{}, ignoreCreates).
		Owns(&networkingv1.Ingress{}, ignoreCreates).
		Owns(&corev1.ConfigMap{}, builder.OnlyMetadata, ignoreCreates). // see metadataOnly
		Owns(&networkingv1.NetworkPolicy{}, builder.OnlyMetadata, ignoreCreates).
		Owns(&policyv1.PodDisruptionBudget{}, builder.OnlyMetadata, ignoreCreates).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}, builder.OnlyMetadata, ignoreCreates).
		// Only Secret metadata is watched (and cached): enough to know one changed.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.pushServicesForSecret)).
		Named("pushservice").
		Complete(r)
}

// pushServicesForSecret maps a changed Secret to the PushServices that reference it.
func (r *PushServiceReconciler) pushServicesForSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	var list pushv1alpha1.PushServiceList
	if err := r.List(ctx, &list, client.InNamespace(secret.GetNamespace()), client.MatchingFields{secretIndex: secret.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing PushServices that reference a Secret", "secret", secret.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, ps := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ps)})
	}
	return reqs
}

// optional turns a builder's typed nil ("this child should not exist") into a nil
// client.Object, which a typed nil pointer inside an interface is not.
func optional[T any, P interface {
	*T
	client.Object
}](o P) client.Object {
	if o == nil {
		return nil
	}
	return o
}
