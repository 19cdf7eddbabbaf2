package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// buildBackendTLSPolicy renders the BackendTLSPolicy that makes the Gateway speak TLS to a
// chat server outside the cluster at an https:// externalURL: most Gateway implementations
// ignore the Service port's appProtocol and would otherwise send plain HTTP to an HTTPS
// port. The Gateway checks the certificate against the URL's host name (also the SNI it
// sends), with the CA bundle of spec.externalTLS or the system roots. nil for an in-cluster
// backend, an http:// externalURL, or an Ingress, whose controller is configured by
// annotations instead.
func buildBackendTLSPolicy(mp *pushv1alpha1.MobileProxy, up proxyUpstream) *gatewayv1.BackendTLSPolicy {
	if mp.Spec.Exposure.Type == pushv1alpha1.ExposureIngress || up.ExternalHost == "" || up.Scheme != "https" {
		return nil
	}
	validation := gatewayv1.BackendTLSPolicyValidation{Hostname: gatewayv1.PreciseHostname(up.ExternalHost)}
	if ca := upstreamCABundle(mp); ca != "" {
		validation.CACertificateRefs = []gatewayv1.LocalObjectReference{{Group: "", Kind: "ConfigMap", Name: gatewayv1.ObjectName(ca)}}
	} else {
		validation.WellKnownCACertificates = ptr.To(gatewayv1.WellKnownCACertificatesSystem)
	}
	return &gatewayv1.BackendTLSPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: backendTLSPolicyName(mp), Namespace: mp.Namespace, Labels: proxyLabels(mp)},
		Spec: gatewayv1.BackendTLSPolicySpec{
			TargetRefs: []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{
				LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{
					Group: "",
					Kind:  "Service",
					Name:  gatewayv1.ObjectName(up.ServiceName),
				},
				SectionName: ptr.To(gatewayv1.SectionName(externalPortName)),
			}},
			Validation: validation,
		},
	}
}

// upstreamCABundle is the ConfigMap named by spec.externalTLS.caBundle, or "".
func upstreamCABundle(mp *pushv1alpha1.MobileProxy) string {
	if t := mp.Spec.ExternalTLS; t != nil && t.CABundle != nil {
		return t.CABundle.Name
	}
	return ""
}
