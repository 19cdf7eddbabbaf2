package controllers

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
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
