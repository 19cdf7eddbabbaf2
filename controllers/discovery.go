package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// absentFor bounds how long a kind found missing is believed missing when no CRD event
// says otherwise.
const absentFor = time.Minute

// crdSettle is how long after a CRD event discovery may still lag behind it (the API
// server publishes a new CRD's kinds shortly after marking it Established). Misses seen
// within it are not remembered, and the MobileProxy controller looks again after it.
const crdSettle = 5 * time.Second

// servedKinds answers whether the API server serves an optional kind (ServiceMonitor,
// HTTPRoute, Certificate...). The REST mapper remembers the kinds it finds but not the ones
// it does not: each miss re-reads the whole discovery document under the mapper's single
// lock. With the optional CRDs absent every reconcile missed up to four times, which
// capped both controllers together at about 50 reconciles a second however many workers
// they had (docs/benchmarks.md). A miss is remembered until any CRD is added, changed or
// deleted, or absentFor passes.
type servedKinds struct {
	mapper meta.RESTMapper
	now    func() time.Time

	mu         sync.Mutex
	absent     map[schema.GroupVersionKind]time.Time // when the miss was seen
	crdChanged time.Time                             // the last CRD event
}

// newServedKinds watches CRD metadata through mgr's cache to forget misses when CRDs change.
func newServedKinds(mgr ctrl.Manager) (*servedKinds, error) {
	s := &servedKinds{mapper: mgr.GetRESTMapper(), now: time.Now}
	crd := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"}}
	inf, err := mgr.GetCache().GetInformer(context.Background(), crd, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("watching CustomResourceDefinitions: %w", err)
	}
	forget := func(any) { s.forget() }
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    forget,
		UpdateFunc: func(_, o any) { forget(o) },
		DeleteFunc: forget,
	}); err != nil {
		return nil, fmt.Errorf("watching CustomResourceDefinitions: %w", err)
	}
	return s, nil
}

// served says whether gvk is served; an error means discovery itself failed.
func (s *servedKinds) served(gvk schema.GroupVersionKind) (bool, error) {
	s.mu.Lock()
	seen, missing := s.absent[gvk]
	s.mu.Unlock()
	if missing && s.now().Sub(seen) < absentFor {
		return false, nil
	}
	_, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	switch {
	case err == nil:
		return true, nil
	case meta.IsNoMatchError(err):
		s.mu.Lock()
		defer s.mu.Unlock()
		if now := s.now(); now.Sub(s.crdChanged) >= crdSettle {
			if s.absent == nil {
				s.absent = map[schema.GroupVersionKind]time.Time{}
			}
			s.absent[gvk] = now
		}
		return false, nil
	default:
		return false, err
	}
}

// forget drops every remembered miss: a CRD changed, so ask the API server again.
func (s *servedKinds) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.absent)
	s.crdChanged = s.now()
}
