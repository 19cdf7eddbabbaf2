package controllers

import (
	"fmt"
	"maps"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// Annotations cert-manager's ingress-shim reads to issue the certificate of an Ingress.
const (
	shimIssuerAnnotation        = "cert-manager.io/issuer"
	shimClusterIssuerAnnotation = "cert-manager.io/cluster-issuer"
)

// buildIngress renders the Ingress for clusters that still run an Ingress controller. The
// portable Ingress API says hosts, paths, backends and the TLS Secret; everything else the
// reference proxy does (timeouts, body size, websocket upgrade, HSTS, redirect, source
// ranges) goes into the chosen profile's annotations. withShim adds cert-manager's
// ingress-shim annotation, used when issuerRef is set but the Certificate CRD is missing.
func buildIngress(mp *pushv1alpha1.MobileProxy, up proxyUpstream, withShim bool) *networkingv1.Ingress {
	ing := mp.Spec.Exposure.Ingress
	if ing == nil {
		ing = &pushv1alpha1.IngressExposure{}
	}
	annotations := profileAnnotations(mp, ing.Profile, up)
	if ref := mp.Spec.TLS.IssuerRef; ref != nil && withShim {
		key := shimClusterIssuerAnnotation
		if ref.Kind == "Issuer" {
			key = shimIssuerAnnotation
		}
		annotations[key] = ref.Name
	}
	maps.Copy(annotations, ing.Annotations) // the user's word wins
	if len(annotations) == 0 {
		annotations = nil
	}

	paths := []networkingv1.HTTPIngressPath{}
	for _, p := range websocketPaths {
		paths = append(paths, prefixPath(p, up.ServiceName, up.Port))
	}
	if relay := relayServiceName(mp); relay != "" {
		paths = append(paths, prefixPath(relayPathPrefix, relay, relayPort))
	}
	paths = append(paths, prefixPath("/", up.ServiceName, up.Port))

	var rules []networkingv1.IngressRule
	for _, h := range proxyHosts(mp) {
		rules = append(rules, networkingv1.IngressRule{
			Host:             h,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}},
		})
	}
	var class *string
	if ing.ClassName != "" {
		class = ptr.To(ing.ClassName)
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: ingressName(mp), Namespace: mp.Namespace, Labels: proxyLabels(mp), Annotations: annotations},
		Spec: networkingv1.IngressSpec{
			IngressClassName: class,
			TLS:              []networkingv1.IngressTLS{{Hosts: proxyHosts(mp), SecretName: tlsSecretName(mp)}},
			Rules:            rules,
		},
	}
}

func prefixPath(path, service string, port int32) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{
		Path:     path,
		PathType: ptr.To(networkingv1.PathTypePrefix),
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: service,
			Port: networkingv1.ServiceBackendPort{Number: port},
		}},
	}
}

// profileAnnotations translates the reference proxy settings into one controller's
// annotations. Settings a controller has no annotation for are documented in
// docs/mobileproxy.md (Traefik, for instance, sets timeouts on its entry points).
func profileAnnotations(mp *pushv1alpha1.MobileProxy, profile pushv1alpha1.IngressProfile, up proxyUpstream) map[string]string {
	a := map[string]string{}
	hsts := mp.Spec.HSTS
	hstsOn := hstsHeader(mp) != ""
	switch profile {
	case pushv1alpha1.ProfileNginxInc:
		// F5 NGINX Ingress Controller (nginx.org/*).
		a["nginx.org/client-max-body-size"] = nginxSize(maxBodyBytes(mp))
		a["nginx.org/proxy-read-timeout"] = fmt.Sprintf("%ds", readTimeout(mp))
		a["nginx.org/proxy-send-timeout"] = fmt.Sprintf("%ds", sendTimeout(mp))
		a["nginx.org/websocket-services"] = up.ServiceName
		a["nginx.org/keepalive"] = "32"
		// The legacy key and its nginx.org successor (NIC 5.x), so either version redirects.
		a["ingress.kubernetes.io/ssl-redirect"] = "true"
		a["nginx.org/ssl-redirect"] = "true"
		a["nginx.org/hsts"] = fmt.Sprint(hstsOn)
		if hstsOn {
			a["nginx.org/hsts-max-age"] = fmt.Sprint(hstsMaxAge(hsts))
			a["nginx.org/hsts-include-subdomains"] = fmt.Sprint(hsts.IncludeSubdomains)
		}
		if up.Scheme == "https" {
			a["nginx.org/ssl-services"] = up.ServiceName
		}
	case pushv1alpha1.ProfileHAProxy:
		// HAProxy Kubernetes Ingress Controller (haproxy.org/*).
		a["haproxy.org/ssl-redirect"] = "true"
		a["haproxy.org/ssl-redirect-code"] = "301"
		a["haproxy.org/timeout-server"] = fmt.Sprintf("%ds", readTimeout(mp))
		a["haproxy.org/timeout-tunnel"] = fmt.Sprintf("%ds", websocketTimeout(mp))
		a["haproxy.org/forwarded-for"] = "true"
		if hstsOn {
			a["haproxy.org/response-set-header"] = "Strict-Transport-Security \"" + hstsHeader(mp) + "\""
		}
		if len(mp.Spec.AllowedSourceRanges) > 0 {
			var cidrs []string
			for _, c := range mp.Spec.AllowedSourceRanges {
				cidrs = append(cidrs, string(c))
			}
			a["haproxy.org/allow-list"] = strings.Join(cidrs, ", ")
		}
		if up.Scheme == "https" {
			a["haproxy.org/server-ssl"] = "true"
		}
	case pushv1alpha1.ProfileTraefik:
		// Traefik terminates TLS on its websecure entry point; redirect, HSTS, timeouts and
		// body size are entry-point options or Middlewares the user owns (see the docs).
		a["traefik.ingress.kubernetes.io/router.entrypoints"] = "websecure"
		a["traefik.ingress.kubernetes.io/router.tls"] = "true"
	}
	return a
}

func hstsMaxAge(h pushv1alpha1.HSTS) int32 {
	if h.MaxAge == 0 {
		return defaultHSTSMaxAge
	}
	return h.MaxAge
}

// nginxSize renders a byte count in nginx's size syntax (k, m, g suffixes).
func nginxSize(b int64) string {
	switch {
	case b%(1<<30) == 0:
		return fmt.Sprintf("%dg", b>>30)
	case b%(1<<20) == 0:
		return fmt.Sprintf("%dm", b>>20)
	case b%(1<<10) == 0:
		return fmt.Sprintf("%dk", b>>10)
	}
	return fmt.Sprint(b)
}
