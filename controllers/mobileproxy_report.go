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

// writeStatus folds the proxyObservation into the status, writes it only when something
// changed, and then records the events a person should see (see announce), so a converged
// proxy costs neither status writes nor events.
// It says whether the write conflicted: the proxy must then be looked at again.
func (r *MobileProxyReconciler) writeStatus(ctx context.Context, mp *pushv1alpha1.MobileProxy, obs proxyObservation) (conflicted bool, err error) {
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
	for _, c := range append(parts, ready) {
		c.ObservedGeneration = mp.Generation
		meta.SetStatusCondition(&st.Conditions, c)
	}
	if equality.Semantic.DeepEqual(before, st) {
		return false, nil
	}
	err = r.Status().Update(ctx, mp)
	switch {
	case apierrors.IsConflict(err):
		ctrl.LoggerFrom(ctx).V(1).Info("status write conflicted, retrying with the newer version")
		return true, nil
	case err != nil:
		return false, fmt.Errorf("writing MobileProxy status: %w", err)
	}
	// Events only once the status that announces the same change is stored, so a retried
	// reconcile does not repeat them.
	for _, c := range st.Conditions {
		r.announce(mp, meta.FindStatusCondition(before.Conditions, c.Type), c)
	}
	return false, nil
}

// announce records an event for a condition that changed, when a person should hear of it
// (docs/mobileproxy.md, "Events"):
//   - a problem: a part turning False or changing its reason while False, and a certificate
//     entering its last 30 days, are Warnings;
//   - a recovery: a part turning True after it was False or expiring is Normal;
//   - Ready turning True (the first time or again) is Normal, Ready turning False after it
//     was True is a Warning with the cause's reason.
//
// A brand-new proxy's parts turning True, or its Ready starting False while it waits for an
// Ingress or Gateway controller, say nothing the one Ready event will not; Unknown means
// "waiting" and is never announced.
func (r *MobileProxyReconciler) announce(mp *pushv1alpha1.MobileProxy, old *metav1.Condition, c metav1.Condition) {
	if old != nil && old.Status == c.Status && old.Reason == c.Reason {
		return
	}
	wasTrue := old != nil && old.Status == metav1.ConditionTrue
	expiring := c.Reason == pushv1alpha1.ReasonCertificateExpiringSoon
	kind := corev1.EventTypeNormal
	switch {
	case c.Type == pushv1alpha1.ConditionReady && c.Status == metav1.ConditionTrue:
	case c.Type == pushv1alpha1.ConditionReady && c.Status == metav1.ConditionFalse:
		if !wasTrue {
			return
		}
		kind = corev1.EventTypeWarning
	case c.Status == metav1.ConditionFalse || expiring:
		kind = corev1.EventTypeWarning
	case c.Status == metav1.ConditionTrue:
		recovered := old != nil && (old.Status == metav1.ConditionFalse || old.Reason == pushv1alpha1.ReasonCertificateExpiringSoon)
		if !recovered {
			return
		}
	default:
		return
	}
	r.Recorder.Eventf(mp, nil, kind, c.Reason, c.Type, "%s", c.Message)
}
