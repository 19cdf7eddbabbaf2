package pushservice

import (
	"net/url"
	"strconv"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// PodDisruptionBudget keeps all but one relay running through node drains; nil when at
// most one pod runs (a budget would then block drains forever) or while suspended.
func PodDisruptionBudget(ps *pushv1alpha1.PushService) *policyv1.PodDisruptionBudget {
	if ps.Spec.Suspend {
		return nil
	}
	least := int32(0)
	if r := DesiredReplicas(ps); r != nil {
		least = *r
	} else if a := ps.Spec.Autoscaling; a != nil {
		least = ptr.Deref(a.MinReplicas, DefaultReplicas)
	}
	if least <= 1 {
		return nil
	}
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(ps, ps.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(ps)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}

// HorizontalPodAutoscaler scales the relay on CPU; nil without spec.autoscaling or while
// suspended (an autoscaler would scale a suspended relay back up).
func HorizontalPodAutoscaler(ps *pushv1alpha1.PushService) *autoscalingv2.HorizontalPodAutoscaler {
	a := ps.Spec.Autoscaling
	if a == nil || ps.Spec.Suspend {
		return nil
	}
	target := a.TargetCPUUtilizationPercentage
	if target == 0 {
		target = 70
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: objectMeta(ps, ps.Name),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: "apps/v1", Kind: "Deployment", Name: DeploymentName(ps),
			},
			MinReplicas: ptr.To(ptr.Deref(a.MinReplicas, DefaultReplicas)),
			MaxReplicas: a.MaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{
						Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(target),
					},
				},
			}},
		},
	}
}

// NetworkPolicy lets only the allowed callers reach the relay's port and lets the relay
// reach only DNS and HTTPS (APNs, FCM, upstream) or the egress proxy's port. nil when
// spec.networkPolicy.enabled is false.
func NetworkPolicy(ps *pushv1alpha1.PushService) *networkingv1.NetworkPolicy {
	np := ps.Spec.NetworkPolicy
	if np != nil && np.Enabled != nil && !*np.Enabled {
		return nil
	}
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	relayPort := intstr.FromInt32(RelayPort)
	dns := intstr.FromInt32(53)
	https := intstr.FromInt32(443)
	egressPorts := []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &https}}
	for _, port := range extraEgressPorts(ps) {
		p := intstr.FromInt32(port)
		egressPorts = append(egressPorts, networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &p})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(ps, ps.Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(ps)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  callerPeers(ps),
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &relayPort}},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}}},
				{Ports: egressPorts},
			},
		},
	}
}

// callerPeers are the allowed namespaces (own namespace by default), each narrowed by
// podSelector when given.
func callerPeers(ps *pushv1alpha1.PushService) []networkingv1.NetworkPolicyPeer {
	np := ps.Spec.NetworkPolicy
	if np == nil {
		np = &pushv1alpha1.NetworkPolicySpec{}
	}
	namespaces := np.AllowedNamespaces
	if len(namespaces) == 0 && np.NamespaceSelector == nil {
		namespaces = []string{ps.Namespace}
	}
	var peers []networkingv1.NetworkPolicyPeer
	if len(namespaces) > 0 {
		peers = append(peers, networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: namespaces,
			}}},
			PodSelector: np.PodSelector,
		})
	}
	if np.NamespaceSelector != nil {
		peers = append(peers, networkingv1.NetworkPolicyPeer{NamespaceSelector: np.NamespaceSelector, PodSelector: np.PodSelector})
	}
	return peers
}

// extraEgressPorts are the ports besides 443 the relay must reach: the egress proxy's and
// any non-default port in an upstream or APNs/FCM endpoint URL.
func extraEgressPorts(ps *pushv1alpha1.PushService) []int32 {
	var urls []string
	if fw := ps.Spec.Forward; fw != nil && ps.Spec.Mode == pushv1alpha1.PushModeForward {
		urls = append(urls, fw.EgressProxy, fw.UpstreamURL)
	}
	for _, app := range ps.Spec.Apps {
		if app.APNs != nil {
			urls = append(urls, app.APNs.Endpoint)
		}
		if app.FCM != nil {
			urls = append(urls, app.FCM.Endpoint)
		}
	}
	seen := map[int32]bool{443: true}
	var ports []int32
	for _, raw := range urls {
		port := urlPort(raw)
		if port != 0 && !seen[port] {
			seen[port] = true
			ports = append(ports, port)
		}
	}
	return ports
}

// urlPort is the TCP port a URL connects to, 0 when it is empty or unparsable.
func urlPort(raw string) int32 {
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return 0
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return 0
		}
		return int32(n)
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}
