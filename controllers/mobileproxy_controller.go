package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// MobileProxyReconciler reconciles a MobileProxy into an HTTPRoute or Ingress, a
// cert-manager Certificate, an ExternalName Service and a BackendTLSPolicy as needed, and
// judges the served certificate the way a phone would.
type MobileProxyReconciler struct {
	client.Client
	Scheme *runtime.Scheme
	// APIReader reads Secrets and ConfigMaps directly: the controller watches only their
	// metadata, so no certificate or key is kept in the operator's memory.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Now is the clock certificates are judged by (tests move it).
	Now func() time.Time

	cache      cache.Cache
	controller controller.Controller
	mu         sync.Mutex
	watching   map[schema.GroupVersionKind]bool
	// kinds remembers which optional kinds are not served; nil asks the REST mapper.
	kinds *servedKinds
}

// +kubebuilder:rbac:groups=push.pushops.dev,resources=mobileproxies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=push.pushops.dev,resources=mobileproxies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=push.pushops.dev,resources=mobileproxies/finalizers,verbs=update
// +kubebuilder:rbac:groups=push.pushops.dev,resources=pushservices,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;referencegrants;backendtlspolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get;list;watch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings the cluster in line with one MobileProxy: read, apply the children,
// observe what the cluster reports, write the status when it changed.
func (r *MobileProxyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var mp pushv1alpha1.MobileProxy
	if err := r.Get(ctx, req.NamespacedName, &mp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mp.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owner references let the garbage collector remove children
	}
	apis, err := r.detectAPIs()
	if err != nil {
		return ctrl.Result{}, err
	}
	up, err := chatUpstream(&mp)
	if err != nil {
		return ctrl.Result{}, err
	}
	children, err := r.applyChildren(ctx, &mp, up, apis)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.observe(ctx, &mp, up, apis, children)
	if err != nil {
		return ctrl.Result{}, err
	}
	conflicted, err := r.writeStatus(ctx, &mp, obs)
	switch {
	case err != nil:
		return ctrl.Result{}, err
	case conflicted:
		return ctrl.Result{RequeueAfter: statusConflictRetry}, nil
	}
	return ctrl.Result{RequeueAfter: obs.recheckAfter}, nil
}

// Field indexes on MobileProxy, so a change to a Secret, ConfigMap, Service or Gateway
// wakes exactly the proxies that use it.
const (
	indexTLSSecret   = "mobileproxy.tlsSecret"
	indexCABundle    = "mobileproxy.caBundle"
	indexService     = "mobileproxy.service"
	indexGateway     = "mobileproxy.gateway"
	indexPushService = "mobileproxy.pushService"
)

// Names of the CRDs whose appearance makes the controller look again.
var optionalCRDs = map[string]bool{
	"httproutes.gateway.networking.k8s.io":         true,
	"gateways.gateway.networking.k8s.io":           true,
	"referencegrants.gateway.networking.k8s.io":    true,
	"backendtlspolicies.gateway.networking.k8s.io": true,
	"certificates.cert-manager.io":                 true,
}

// SetupWithManager registers the reconciler, its indexes and its watches. Watches on the
// optional APIs (Gateway API, cert-manager) start later, once their CRDs are served.
func (r *MobileProxyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("mobileproxy-controller")
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	r.cache = mgr.GetCache()
	if err := r.setupIndexes(context.Background(), mgr); err != nil {
		return err
	}
	crd := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"}}
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&pushv1alpha1.MobileProxy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&networkingv1.Ingress{}, ignoreCreates).
		Owns(&corev1.Service{}, ignoreCreates).
		Watches(&corev1.Service{}, r.enqueueByIndex(indexService)).
		Watches(&pushv1alpha1.PushService{}, r.enqueueByIndex(indexPushService)).
		WatchesMetadata(&corev1.Secret{}, r.enqueueByIndex(indexTLSSecret)).
		WatchesMetadata(&corev1.ConfigMap{}, r.enqueueByIndex(indexCABundle)).
		WatchesMetadata(crd, r.onOptionalCRDChange(),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool { return optionalCRDs[o.GetName()] }))).
		Named("mobileproxy").
		Build(r)
	if err != nil {
		return fmt.Errorf("building the MobileProxy controller: %w", err)
	}
	r.controller = c
	return nil
}

func (r *MobileProxyReconciler) setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	indexes := map[string]func(mp *pushv1alpha1.MobileProxy) []string{
		indexTLSSecret: func(mp *pushv1alpha1.MobileProxy) []string { return []string{tlsSecretName(mp)} },
		indexCABundle: func(mp *pushv1alpha1.MobileProxy) []string {
			if b := mp.Spec.TLS.TrustedCABundle; b != nil {
				return []string{b.Name}
			}
			return nil
		},
		indexService: func(mp *pushv1alpha1.MobileProxy) []string {
			var names []string
			if mp.Spec.Backend != nil {
				names = append(names, mp.Spec.Backend.ServiceName)
			}
			if n := relayServiceName(mp); n != "" {
				names = append(names, n)
			}
			return names
		},
		indexPushService: func(mp *pushv1alpha1.MobileProxy) []string {
			if ref := mp.Spec.PushService; ref != nil {
				return []string{ref.Name}
			}
			return nil
		},
		indexGateway: func(mp *pushv1alpha1.MobileProxy) []string {
			if gw := mp.Spec.Exposure.Gateway; gw != nil {
				return []string{gatewayKey(mp)}
			}
			return nil
		},
	}
	for name, fn := range indexes {
		err := mgr.GetFieldIndexer().IndexField(ctx, &pushv1alpha1.MobileProxy{}, name, func(o client.Object) []string {
			return fn(o.(*pushv1alpha1.MobileProxy))
		})
		if err != nil {
			return fmt.Errorf("indexing MobileProxies by %s: %w", name, err)
		}
	}
	return nil
}

// gatewayKey is "namespace/name" of the parent Gateway.
func gatewayKey(mp *pushv1alpha1.MobileProxy) string {
	ref := mp.Spec.Exposure.Gateway.ParentRef
	ns := ref.Namespace
	if ns == "" {
		ns = mp.Namespace
	}
	return ns + "/" + ref.Name
}

// enqueueByIndex maps an object to the MobileProxies in its namespace that name it.
func (r *MobileProxyReconciler) enqueueByIndex(index string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []ctrl.Request {
		return r.proxiesMatching(ctx, index, o.GetName(), client.InNamespace(o.GetNamespace()))
	})
}

func (r *MobileProxyReconciler) proxiesMatching(ctx context.Context, index, value string, opts ...client.ListOption) []ctrl.Request {
	var list pushv1alpha1.MobileProxyList
	if err := r.List(ctx, &list, append(opts, client.MatchingFields{index: value})...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing MobileProxies by index", "index", index)
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for _, mp := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&mp)})
	}
	return reqs
}

// enqueueAll wakes every MobileProxy: an optional API appeared or changed.
// onOptionalCRDChange wakes every MobileProxy when an optional CRD changes, and again once
// discovery has caught up with the change (crdSettle), so that a reconcile racing the
// API server's discovery update does not leave a proxy waiting for its next resync.
func (r *MobileProxyReconciler) onOptionalCRDChange() handler.EventHandler {
	wake := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[ctrl.Request]) {
		reqs := r.enqueueAll(ctx, o)
		for _, req := range reqs {
			q.Add(req)
		}
		// The second look is added when it is due, not with AddAfter now: the controller's
		// priority queue keeps one entry per proxy, and a delayed add of a proxy still waiting
		// in it is merged into the immediate one and lost. Adding to a stopped queue is a no-op.
		time.AfterFunc(crdSettle, func() {
			for _, req := range reqs {
				q.Add(req)
			}
		})
	}
	return handler.TypedFuncs[client.Object, ctrl.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[ctrl.Request]) {
			wake(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[ctrl.Request]) {
			wake(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[ctrl.Request]) {
			wake(ctx, e.Object, q)
		},
	}
}

func (r *MobileProxyReconciler) enqueueAll(ctx context.Context, _ client.Object) []ctrl.Request {
	if r.kinds != nil {
		// Before the reconciles it causes, which must not see a remembered miss.
		r.kinds.forget()
	}
	var list pushv1alpha1.MobileProxyList
	if err := r.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing MobileProxies")
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for _, mp := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&mp)})
	}
	return reqs
}
