package controllers

import (
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// NewScheme returns the scheme the manager runs with: Kubernetes' own types, this
// operator's API, and the Gateway API and cert-manager types that MobileProxy renders when
// those CRDs are installed (registering them costs nothing when they are not). The binary,
// the test suites and the benchmark all use it, so they agree on what the operator knows.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(pushv1alpha1.AddToScheme(s))
	utilruntime.Must(gatewayv1.Install(s))
	utilruntime.Must(gatewayv1beta1.Install(s))
	utilruntime.Must(cmv1.AddToScheme(s))
	return s
}
