package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper counts the lookups that reach the REST mapper (each miss of the real one
// re-reads discovery).
type countingMapper struct {
	meta.RESTMapper
	lookups int
}

func (m *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	m.lookups++
	return m.RESTMapper.RESTMapping(gk, versions...)
}

func TestServedKindsRemembersMissesUntilACRDChanges(t *testing.T) {
	deployments := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	routes := schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	known := meta.NewDefaultRESTMapper(nil)
	known.Add(deployments, meta.RESTScopeNamespace)
	mapper := &countingMapper{RESTMapper: known}
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	kinds := &servedKinds{mapper: mapper, now: func() time.Time { return now }}

	ask := func(gvk schema.GroupVersionKind, want bool, lookups int) {
		t.Helper()
		got, err := kinds.served(gvk)
		if err != nil || got != want {
			t.Fatalf("served(%s) = %v, %v; want %v", gvk.Kind, got, err, want)
		}
		if mapper.lookups != lookups {
			t.Fatalf("after served(%s): %d mapper lookups, want %d", gvk.Kind, mapper.lookups, lookups)
		}
	}
	ask(routes, false, 1)
	ask(routes, false, 1) // remembered
	ask(deployments, true, 2)
	ask(deployments, true, 3) // found kinds are the mapper's to cache
	kinds.forget()
	ask(routes, false, 4) // a CRD changed: asked again
	ask(routes, false, 5) // and not remembered while discovery may lag the change
	now = now.Add(crdSettle)
	ask(routes, false, 6)
	ask(routes, false, 6) // remembered once things settled
	now = now.Add(absentFor)
	ask(routes, false, 7) // remembered only for absentFor
	known.Add(routes, meta.RESTScopeNamespace)
	kinds.forget()
	ask(routes, true, 8)
}
