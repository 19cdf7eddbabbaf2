package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// writeStatus folds the proxyObservation into the status, writes it only when something changed,
// and records an event for each condition that changed reason, so a converged proxy costs
// neither status writes nor events.
func (r *MobileProxyReconciler) writeStatus(ctx context.Context, mp *pushv1alpha1.MobileProxy, obs proxyObservation) error {
	before := mp.Status.DeepCopy()
	st := &mp.Status
	st.ObservedGeneration = mp.Generation
	st.URL = "https://" + mp.Spec.Host
	st.Certificate = obs.certStatus

	parts := []metav1.Condition{obs.certificate, obs.admitted, obs.backend}
	ready := proxyCond(pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonAvailable,
		fmt.Sprintf("Phones can connect to %s.", st.URL))
	for _, c := range parts {
		if c.Status != metav1.ConditionTrue {
			ready = proxyCond(pushv1alpha1.ConditionReady, metav1.ConditionFalse, c.Reason, c.Message)
			break
		}
	}
	var changed []metav1.Condition
	for _, c := range append(parts, ready) {
		c.ObservedGeneration = mp.Generation
		old := meta.FindStatusCondition(before.Conditions, c.Type)
		if old == nil || old.Reason != c.Reason || old.Status != c.Status {
			changed = append(changed, c)
		}
		meta.SetStatusCondition(&st.Conditions, c)
	}
	if equality.Semantic.DeepEqual(before, st) {
		return nil
	}
	err := r.Status().Update(ctx, mp)
	switch {
	case apierrors.IsConflict(err):
		// The cache was behind; the newer object's watch event brings this proxy back.
		ctrl.LoggerFrom(ctx).V(1).Info("status write conflicted, waiting for the newer version")
		return nil
	case err != nil:
		return fmt.Errorf("writing MobileProxy status: %w", err)
	}
	// Events only once the status that announces the same change is stored, so a retried
	// reconcile does not repeat them.
	for _, c := range changed {
		r.recordTransition(mp, c)
	}
	return nil
}

// recordTransition records an event for a condition that changed. A certificate expiring
// soon is a warning although the condition is still True.
func (r *MobileProxyReconciler) recordTransition(mp *pushv1alpha1.MobileProxy, c metav1.Condition) {
	if c.Status == metav1.ConditionUnknown {
		return
	}
	kind := corev1.EventTypeNormal
	if c.Status == metav1.ConditionFalse || c.Reason == pushv1alpha1.ReasonCertificateExpiringSoon {
		kind = corev1.EventTypeWarning
	}
	r.Recorder.Eventf(mp, nil, kind, c.Reason, c.Type, "%s", c.Message)
}
