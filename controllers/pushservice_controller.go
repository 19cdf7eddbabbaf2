package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// PushServiceReconciler reconciles a PushService into a running relay.
type PushServiceReconciler struct {
	client.Client
	Scheme *runtime.Scheme
}

// +kubebuilder:rbac:groups=push.pushops.dev,resources=pushservices,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=push.pushops.dev,resources=pushservices/status,verbs=get;update;patch

// Reconcile brings the cluster in line with one PushService.
func (r *PushServiceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ps pushv1alpha1.PushService
	if err := r.Get(ctx, req.NamespacedName, &ps); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler and its watches with the manager.
func (r *PushServiceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&pushv1alpha1.PushService{}).
		Named("pushservice").
		Complete(r)
}
