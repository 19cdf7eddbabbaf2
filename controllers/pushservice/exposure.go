package pushservice

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// Service is the in-cluster address of the relay (status.endpoints.inCluster).
func Service(ps *pushv1alpha1.PushService) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(ps, ServiceName(ps)),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(ps),
			Ports: []corev1.ServicePort{{
				Name: portName(ps), Port: RelayPort, TargetPort: intstr.FromString(portName(ps)),
				Protocol: corev1.ProtocolTCP, AppProtocol: ptr.To(Scheme(ps)),
			}},
		},
	}
}

// Ingress exposes the relay under spec.ingress.host with TLS; nil without spec.ingress.
// With issuerRef, cert-manager's ingress-shim issues the certificate into
// IngressTLSSecretName.
func Ingress(ps *pushv1alpha1.PushService) *networkingv1.Ingress {
	spec := ps.Spec.Ingress
	if spec == nil {
		return nil
	}
	annotations := map[string]string{}
	for k, v := range spec.Annotations {
		annotations[k] = v
	}
	if ir := spec.TLS.IssuerRef; ir != nil {
		if ir.Kind == "ClusterIssuer" {
			annotations["cert-manager.io/cluster-issuer"] = ir.Name
		} else {
			annotations["cert-manager.io/issuer"] = ir.Name
		}
	}
	if ps.Spec.TLS != nil {
		// The relay itself serves HTTPS; tell the common controller so.
		annotations["nginx.ingress.kubernetes.io/backend-protocol"] = "HTTPS"
	}
	meta := objectMeta(ps, ps.Name)
	if len(annotations) > 0 {
		meta.Annotations = annotations
	}
	pathType := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: meta,
		Spec: networkingv1.IngressSpec{
			IngressClassName: spec.ClassName,
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{spec.Host}, SecretName: IngressTLSSecretName(ps)}},
			Rules: []networkingv1.IngressRule{{
				Host: spec.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: ServiceName(ps), Port: networkingv1.ServiceBackendPort{Name: portName(ps)},
						}},
					}},
				}},
			}},
		},
	}
}

// ServiceMonitorGVK is the Prometheus Operator kind; the operator builds it unstructured so
// it needs no Go dependency on the Prometheus Operator.
var ServiceMonitorGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}

// ServiceMonitor scrapes the relay's /metrics; nil unless spec.metrics.serviceMonitor.enabled.
func ServiceMonitor(ps *pushv1alpha1.PushService) *unstructured.Unstructured {
	m := ps.Spec.Metrics
	if m == nil || m.ServiceMonitor == nil || !m.ServiceMonitor.Enabled {
		return nil
	}
	endpoint := map[string]any{"port": portName(ps), "path": "/metrics", "scheme": Scheme(ps)}
	if m.ServiceMonitor.Interval != "" {
		endpoint["interval"] = m.ServiceMonitor.Interval
	}
	if ps.Spec.TLS != nil {
		endpoint["tlsConfig"] = map[string]any{"serverName": ServiceName(ps) + "." + ps.Namespace + ".svc"}
	}
	labels := map[string]any{}
	for k, v := range Labels(ps) {
		labels[k] = v
	}
	for k, v := range m.ServiceMonitor.Labels {
		labels[k] = v
	}
	selector := map[string]any{}
	for k, v := range SelectorLabels(ps) {
		selector[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": ps.Name, "namespace": ps.Namespace, "labels": labels},
		"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": selector},
			"endpoints": []any{endpoint},
		},
	}}
	u.SetGroupVersionKind(ServiceMonitorGVK)
	return u
}
