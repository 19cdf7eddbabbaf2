package controllers

import (
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// SetupWithManager registers every reconciler of the operator with mgr. The manager binary
// and the envtest suite both call it, so tests run exactly the wiring that ships.
func SetupWithManager(mgr ctrl.Manager) error {
	// One memory of the optional kinds the API server lacks, shared by both controllers.
	kinds, err := newServedKinds(mgr)
	if err != nil {
		return err
	}
	if err := (&PushServiceReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme(), kinds: kinds}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the PushService controller: %w", err)
	}
	if err := (&MobileProxyReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme(), kinds: kinds}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the MobileProxy controller: %w", err)
	}
	return nil
}

// ignoreCreates drops the create events of owned children. Whoever creates a child with a
// controller reference to a PushService or MobileProxy is its controller, whose reconcile
// already reports the child from the create's answer: the event would only cost every new
// object a second reconcile. At start-up every owner is reconciled anyway; updates (a
// Deployment's rollout, an Ingress controller publishing an address) and deletes still
// wake the owner.
var ignoreCreates = builder.WithPredicates(skipCreates)

var skipCreates = predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }}

// statusConflictRetry is how soon an object whose status write conflicted is reconciled
// again. A conflict means the cache was behind; the newer version's watch event does not
// wake the object when only its status or metadata changed (both controllers react to spec
// changes only), so the retry is explicit.
const statusConflictRetry = time.Second
