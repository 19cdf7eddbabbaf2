package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// MobileProxyReconciler reconciles a MobileProxy into an HTTPRoute or Ingress.
type MobileProxyReconciler struct {
	client.Client
	Scheme *runtime.Scheme
}

// +kubebuilder:rbac:groups=push.pushops.dev,resources=mobileproxies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=push.pushops.dev,resources=mobileproxies/status,verbs=get;update;patch

// Reconcile brings the cluster in line with one MobileProxy.
func (r *MobileProxyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var mp pushv1alpha1.MobileProxy
	if err := r.Get(ctx, req.NamespacedName, &mp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler and its watches with the manager.
func (r *MobileProxyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&pushv1alpha1.MobileProxy{}).
		Named("mobileproxy").
		Complete(r)
}
