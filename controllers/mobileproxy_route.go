package controllers

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// The builders below render objects exactly as the API server stores them (every defaulted
// field set), so comparing desired with actual finds no difference once converged and the
// controller makes no writes in steady state.

// buildHTTPRoute renders the HTTPRoute that attaches the chat server to the user's Gateway
// HTTPS listener. Only portable (Core or Extended) Gateway API fields are used: what has no
// portable field (body size, websocket idle timeout, TLS versions) is set on the Gateway's
// implementation, as docs/mobileproxy.md describes per implementation.
func buildHTTPRoute(mp *pushv1alpha1.MobileProxy, up proxyUpstream) *gatewayv1.HTTPRoute {
	gw := mp.Spec.Exposure.Gateway
	filters := hstsFilters(mp)
	chat := backendRefs(up.ServiceName, up.Port)

	rules := []gatewayv1.HTTPRouteRule{{
		// Websockets live for hours: a zero request timeout disables the per-request
		// deadline so that the `/` rule's read timeout does not cut them off.
		Name:        ptr.To(gatewayv1.SectionName("websocket")),
		Matches:     prefixMatches(websocketPaths...),
		Filters:     filters,
		BackendRefs: chat,
		Timeouts:    &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("0s"))},
	}}
	if relay := relayServiceName(mp); relay != "" {
		rules = append(rules, gatewayv1.HTTPRouteRule{
			Name:        ptr.To(gatewayv1.SectionName("push-relay")),
			Matches:     prefixMatches(relayPathPrefix),
			Filters:     filters,
			BackendRefs: backendRefs(relay, relayPort),
			Timeouts:    &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(durationSeconds(sendTimeout(mp)))},
		})
	}
	rules = append(rules, gatewayv1.HTTPRouteRule{
		Name:        ptr.To(gatewayv1.SectionName("chat")),
		Matches:     prefixMatches("/"),
		Filters:     filters,
		BackendRefs: chat,
		Timeouts:    &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(durationSeconds(readTimeout(mp)))},
	})

	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: httpRouteName(mp), Namespace: mp.Namespace, Labels: proxyLabels(mp)},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(gw.ParentRef.Namespace, gw.ParentRef.Name, gw.ParentRef.SectionName)}},
			Hostnames:       routeHostnames(mp),
			Rules:           rules,
		},
	}
}

// buildRedirectRoute renders the route on the Gateway's plain-HTTP listener that sends every
// request to HTTPS with a permanent redirect; nil when no HTTP listener is named.
func buildRedirectRoute(mp *pushv1alpha1.MobileProxy) *gatewayv1.HTTPRoute {
	gw := mp.Spec.Exposure.Gateway
	if gw == nil || gw.RedirectSectionName == "" {
		return nil
	}
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: redirectRouteName(mp), Namespace: mp.Namespace, Labels: proxyLabels(mp)},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(gw.ParentRef.Namespace, gw.ParentRef.Name, gw.RedirectSectionName)}},
			Hostnames:       routeHostnames(mp),
			Rules: []gatewayv1.HTTPRouteRule{{
				Name:    ptr.To(gatewayv1.SectionName("to-https")),
				Matches: prefixMatches("/"),
				Filters: []gatewayv1.HTTPRouteFilter{{
					Type: gatewayv1.HTTPRouteFilterRequestRedirect,
					RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{
						Scheme:     ptr.To("https"),
						StatusCode: ptr.To(301),
					},
				}},
			}},
		},
	}
}

// buildReferenceGrant lets Gateways in the parent Gateway's namespace reference this
// MobileProxy's TLS Secret from their listeners; nil when not asked for or not needed.
func buildReferenceGrant(mp *pushv1alpha1.MobileProxy) *gatewayv1.ReferenceGrant {
	gw := mp.Spec.Exposure.Gateway
	if gw == nil || !gw.GrantCertificateAccess || gw.ParentRef.Namespace == "" || gw.ParentRef.Namespace == mp.Namespace {
		return nil
	}
	return &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Name: referenceGrantName(mp), Namespace: mp.Namespace, Labels: proxyLabels(mp)},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{
				Group:     gatewayv1.GroupName,
				Kind:      "Gateway",
				Namespace: gatewayv1.Namespace(gw.ParentRef.Namespace),
			}},
			To: []gatewayv1.ReferenceGrantTo{{
				Group: "",
				Kind:  "Secret",
				Name:  ptr.To(gatewayv1.ObjectName(tlsSecretName(mp))),
			}},
		},
	}
}

func parentRef(namespace, name, section string) gatewayv1.ParentReference {
	ref := gatewayv1.ParentReference{
		Group: ptr.To(gatewayv1.Group(gatewayv1.GroupName)),
		Kind:  ptr.To(gatewayv1.Kind("Gateway")),
		Name:  gatewayv1.ObjectName(name),
	}
	if namespace != "" {
		ref.Namespace = ptr.To(gatewayv1.Namespace(namespace))
	}
	if section != "" {
		ref.SectionName = ptr.To(gatewayv1.SectionName(section))
	}
	return ref
}

func routeHostnames(mp *pushv1alpha1.MobileProxy) []gatewayv1.Hostname {
	var out []gatewayv1.Hostname
	for _, h := range proxyHosts(mp) {
		out = append(out, gatewayv1.Hostname(h))
	}
	return out
}

func prefixMatches(paths ...string) []gatewayv1.HTTPRouteMatch {
	var out []gatewayv1.HTTPRouteMatch
	for _, p := range paths {
		out = append(out, gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{
			Type:  ptr.To(gatewayv1.PathMatchPathPrefix),
			Value: ptr.To(p),
		}})
	}
	return out
}

func backendRefs(service string, port int32) []gatewayv1.HTTPBackendRef {
	return []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{
			Group: ptr.To(gatewayv1.Group("")),
			Kind:  ptr.To(gatewayv1.Kind("Service")),
			Name:  gatewayv1.ObjectName(service),
			Port:  ptr.To(port),
		},
		Weight: ptr.To(int32(1)),
	}}}
}

func hstsFilters(mp *pushv1alpha1.MobileProxy) []gatewayv1.HTTPRouteFilter {
	v := hstsHeader(mp)
	if v == "" {
		return nil
	}
	return []gatewayv1.HTTPRouteFilter{{
		Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier,
		ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{
			Set: []gatewayv1.HTTPHeader{{Name: "Strict-Transport-Security", Value: v}},
		},
	}}
}

func durationSeconds(s int64) gatewayv1.Duration {
	return gatewayv1.Duration(fmt.Sprintf("%ds", s))
}
