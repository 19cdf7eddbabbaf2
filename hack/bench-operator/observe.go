package main

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers"
)

// Converged, as this benchmark defines it (there is no kubelet or Ingress controller on
// the test API server, so Ready=True is out of reach by design):
//   - PushService: status.observedGeneration is the current generation, CredentialsValid is
//     True for it, and its ConfigMap, Deployment and Service exist;
//   - MobileProxy: status.observedGeneration is current, CertificateValid is True for the
//     current generation, and its Ingress exists.

// tracker watches the benchmark's namespaces and records when each object converged.
type tracker struct {
	cache cache.Cache
	mu    sync.Mutex
	ps    map[string]time.Time // namespace → when its PushService converged
	mp    map[string]time.Time
}

func labelSelector(s string) (labels.Selector, error) { return labels.Parse(s) }

func metadataOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

var (
	configMapGVK  = corev1.SchemeGroupVersion.WithKind("ConfigMap")
	serviceGVK    = corev1.SchemeGroupVersion.WithKind("Service")
	deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")
	ingressGVK    = networkingv1.SchemeGroupVersion.WithKind("Ingress")
)

// newTracker starts informers (metadata only for the children, operator's children only).
func newTracker(ctx context.Context, cfg *rest.Config) (*tracker, error) {
	sel, err := labelSelector(managedBy)
	if err != nil {
		return nil, err
	}
	byObject := map[client.Object]cache.ByObject{}
	for _, gvk := range []schema.GroupVersionKind{configMapGVK, serviceGVK, deploymentGVK, ingressGVK} {
		byObject[metadataOf(gvk)] = cache.ByObject{Label: sel}
	}
	c, err := cache.New(cfg, cache.Options{Scheme: controllers.NewScheme(), ByObject: byObject, DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		return nil, err
	}
	t := &tracker{cache: c, ps: map[string]time.Time{}, mp: map[string]time.Time{}}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.check(ctx, o) },
		UpdateFunc: func(_, o any) { t.check(ctx, o) },
	}
	objects := []client.Object{&pushv1alpha1.PushService{}, &pushv1alpha1.MobileProxy{}}
	for obj := range byObject {
		objects = append(objects, obj)
	}
	for _, obj := range objects {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("watching %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the benchmark's watches did not sync")
	}
	return t, nil
}

func (t *tracker) check(ctx context.Context, o any) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	t.checkNamespace(ctx, obj.GetNamespace())
}

func (t *tracker) checkNamespace(ctx context.Context, ns string) {
	now := time.Now()
	t.mu.Lock()
	_, psDone := t.ps[ns]
	_, mpDone := t.mp[ns]
	t.mu.Unlock()
	if !psDone && t.pushServiceConverged(ctx, ns) {
		t.mu.Lock()
		t.ps[ns] = now
		t.mu.Unlock()
	}
	if !mpDone && t.proxyConverged(ctx, ns) {
		t.mu.Lock()
		t.mp[ns] = now
		t.mu.Unlock()
	}
}

func (t *tracker) exists(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) bool {
	return t.cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, metadataOf(gvk)) == nil
}

func (t *tracker) pushServiceConverged(ctx context.Context, ns string) bool {
	var ps pushv1alpha1.PushService
	if err := t.cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushName}, &ps); err != nil {
		return false
	}
	c := meta.FindStatusCondition(ps.Status.Conditions, pushv1alpha1.ConditionCredentialsValid)
	return ps.Status.ObservedGeneration == ps.Generation && c != nil && c.Status == metav1.ConditionTrue &&
		c.ObservedGeneration == ps.Generation &&
		t.exists(ctx, configMapGVK, ns, pushName+"-config") &&
		t.exists(ctx, deploymentGVK, ns, pushName) &&
		t.exists(ctx, serviceGVK, ns, pushName)
}

func (t *tracker) proxyConverged(ctx context.Context, ns string) bool {
	var mp pushv1alpha1.MobileProxy
	if err := t.cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: proxyName}, &mp); err != nil {
		return false
	}
	c := meta.FindStatusCondition(mp.Status.Conditions, pushv1alpha1.MobileProxyCertificateValid)
	return mp.Status.ObservedGeneration == mp.Generation && c != nil && c.Status == metav1.ConditionTrue &&
		c.ObservedGeneration == mp.Generation &&
		t.exists(ctx, ingressGVK, ns, proxyName)
}

// wait returns when every namespace's PushService and MobileProxy converged, sweeping once
// a second in case an event was handled before the cache it checks had caught up.
func (t *tracker) wait(ctx context.Context, namespaces []string) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var pending []string
		t.mu.Lock()
		for _, ns := range namespaces {
			_, a := t.ps[ns]
			_, b := t.mp[ns]
			if !a || !b {
				pending = append(pending, ns)
			}
		}
		t.mu.Unlock()
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d namespace(s) not converged, e.g. %s: %w", len(pending), pending[0], ctx.Err())
		case <-tick.C:
			for _, ns := range pending {
				t.checkNamespace(ctx, ns)
			}
		}
	}
}

func (t *tracker) times() (ps, mp map[string]time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.ps), maps.Clone(t.mp)
}
