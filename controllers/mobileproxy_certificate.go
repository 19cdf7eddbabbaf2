package controllers

import (
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// buildCertificate renders the cert-manager Certificate for issuerRef: every host, an
// ECDSA P-256 key (small handshakes on phones, supported by every mobile TLS stack) rotated
// on each renewal. nil when the user brings their own Secret.
func buildCertificate(mp *pushv1alpha1.MobileProxy) *cmv1.Certificate {
	ref := mp.Spec.TLS.IssuerRef
	if ref == nil {
		return nil
	}
	kind := ref.Kind
	if kind == "" {
		kind = "ClusterIssuer"
	}
	return &cmv1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: certificateName(mp), Namespace: mp.Namespace, Labels: proxyLabels(mp)},
		Spec: cmv1.CertificateSpec{
			SecretName: tlsSecretName(mp),
			DNSNames:   proxyHosts(mp),
			IssuerRef:  cmmeta.IssuerReference{Name: ref.Name, Kind: kind, Group: "cert-manager.io"},
			PrivateKey: &cmv1.CertificatePrivateKey{
				Algorithm:      cmv1.ECDSAKeyAlgorithm,
				Size:           256,
				RotationPolicy: cmv1.RotationPolicyAlways,
			},
			Usages: []cmv1.KeyUsage{cmv1.UsageDigitalSignature, cmv1.UsageServerAuth},
			// Labels on the Secret let `kubectl get secret -l` find what a proxy serves.
			SecretTemplate: &cmv1.CertificateSecretTemplate{Labels: proxyLabels(mp)},
		},
	}
}

// buildExternalService renders the ExternalName Service that gives a chat server outside
// the cluster a Service name routes and Ingresses can point at. appProtocol tells
// Gateway implementations which scheme to speak upstream. nil for an in-cluster backend.
func buildExternalService(mp *pushv1alpha1.MobileProxy, up proxyUpstream, profile pushv1alpha1.IngressProfile) *corev1.Service {
	if up.ExternalHost == "" {
		return nil
	}
	var annotations map[string]string
	if profile == pushv1alpha1.ProfileTraefik && up.Scheme == "https" {
		// Traefik reads the upstream scheme from the Service, not the Ingress.
		annotations = map[string]string{"traefik.ingress.kubernetes.io/service.serversscheme": "https"}
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: externalServiceName(mp), Namespace: mp.Namespace, Labels: proxyLabels(mp), Annotations: annotations},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: up.ExternalHost,
			Ports: []corev1.ServicePort{{
				Name:        externalPortName,
				Protocol:    corev1.ProtocolTCP,
				AppProtocol: ptr.To(up.Scheme),
				Port:        up.Port,
				TargetPort:  intstr.FromInt32(up.Port),
			}},
		},
	}
}
