package controllers

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
)

// Names, paths and defaults every MobileProxy builder shares.
const (
	// relayPort is the PushService relay's Service port.
	relayPort = pushservice.RelayPort
	// relayPathPrefix is where the push proxy API lives (/api/v1/send_push, /api/v1/ack).
	relayPathPrefix = "/api/v1"

	defaultReadTimeout      = 600 * time.Second
	defaultSendTimeout      = 300 * time.Second
	defaultWebsocketTimeout = 90 * time.Second
	defaultMaxBodyBytes     = 50 << 20
	defaultHSTSMaxAge       = 31536000
)

// websocketPaths are the chat server's websocket endpoints (the reference nginx location
// `~ /api/v[0-9]+/(users/)?websocket$`). Prefix matches are the portable way to say it;
// API v4 is the only version the apps speak.
var websocketPaths = []string{"/api/v4/websocket", "/api/v4/users/websocket"}

// proxyLabels mark every object a MobileProxy owns.
func proxyLabels(mp *pushv1alpha1.MobileProxy) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "mobile-proxy",
		"app.kubernetes.io/instance":   mp.Name,
		"app.kubernetes.io/managed-by": "push-operator",
	}
}

// proxyHosts is host followed by the extra hosts.
func proxyHosts(mp *pushv1alpha1.MobileProxy) []string {
	hosts := []string{mp.Spec.Host}
	for _, h := range mp.Spec.Hosts {
		hosts = append(hosts, string(h))
	}
	return hosts
}

// tlsSecretName is the Secret phones' certificate lives in: the user's or cert-manager's.
func tlsSecretName(mp *pushv1alpha1.MobileProxy) string {
	if mp.Spec.TLS.SecretName != "" {
		return mp.Spec.TLS.SecretName
	}
	return mp.Name + "-tls"
}

func httpRouteName(mp *pushv1alpha1.MobileProxy) string     { return mp.Name }
func redirectRouteName(mp *pushv1alpha1.MobileProxy) string { return mp.Name + "-redirect" }
func ingressName(mp *pushv1alpha1.MobileProxy) string       { return mp.Name }
func certificateName(mp *pushv1alpha1.MobileProxy) string   { return mp.Name }
func referenceGrantName(mp *pushv1alpha1.MobileProxy) string {
	return mp.Name + "-tls"
}
func externalServiceName(mp *pushv1alpha1.MobileProxy) string { return mp.Name + "-upstream" }

// backendTLSPolicyName is named after the ExternalName Service it applies to.
func backendTLSPolicyName(mp *pushv1alpha1.MobileProxy) string { return mp.Name + "-upstream" }

// externalPortName names the ExternalName Service's one port; the BackendTLSPolicy targets it.
const externalPortName = "chat"

// proxyUpstream is where the chat server is reached: a Service port and the scheme to speak.
type proxyUpstream struct {
	ServiceName string
	Port        int32
	Scheme      string // http or https
	// ExternalHost is set for externalURL: the ExternalName Service's target.
	ExternalHost string
}

func chatUpstream(mp *pushv1alpha1.MobileProxy) (proxyUpstream, error) {
	if b := mp.Spec.Backend; b != nil {
		port := b.Port
		if port == 0 {
			port = 8065
		}
		return proxyUpstream{ServiceName: b.ServiceName, Port: port, Scheme: "http"}, nil
	}
	u, err := url.Parse(mp.Spec.ExternalURL)
	if err != nil {
		return proxyUpstream{}, fmt.Errorf("parsing externalURL: %w", err)
	}
	port := int64(80)
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.ParseInt(p, 10, 32); err != nil {
			return proxyUpstream{}, fmt.Errorf("parsing the port of externalURL: %w", err)
		}
	}
	// DNS names are case-insensitive; the ExternalName Service and the BackendTLSPolicy's
	// hostname accept lower case only.
	host := strings.ToLower(u.Hostname())
	return proxyUpstream{ServiceName: externalServiceName(mp), Port: int32(port), Scheme: u.Scheme, ExternalHost: host}, nil
}

// relayServiceName is the Service of the referenced PushService's relay, named as the
// PushService controller names it; "" without spec.pushService.
func relayServiceName(mp *pushv1alpha1.MobileProxy) string {
	if mp.Spec.PushService == nil {
		return ""
	}
	ps := &pushv1alpha1.PushService{ObjectMeta: metav1.ObjectMeta{Name: mp.Spec.PushService.Name, Namespace: mp.Namespace}}
	return pushservice.ServiceName(ps)
}

// seconds renders a timeout as whole seconds (rounded up), the unit every proxy accepts.
func proxySeconds(d *metav1.Duration, def time.Duration) int64 {
	v := def
	if d != nil {
		v = d.Duration
	}
	return int64(math.Ceil(v.Seconds()))
}

func readTimeout(mp *pushv1alpha1.MobileProxy) int64 {
	return proxySeconds(mp.Spec.Timeouts.Read, defaultReadTimeout)
}
func sendTimeout(mp *pushv1alpha1.MobileProxy) int64 {
	return proxySeconds(mp.Spec.Timeouts.Send, defaultSendTimeout)
}
func websocketTimeout(mp *pushv1alpha1.MobileProxy) int64 {
	return proxySeconds(mp.Spec.Timeouts.WebsocketIdle, defaultWebsocketTimeout)
}

// maxBodyBytes is spec.maxBodySize in bytes (validated by the API server, defaulted here
// for objects built in memory).
func maxBodyBytes(mp *pushv1alpha1.MobileProxy) int64 {
	q, err := resource.ParseQuantity(mp.Spec.MaxBodySize)
	if err != nil || q.Value() <= 0 {
		return defaultMaxBodyBytes
	}
	return q.Value()
}

// hstsHeader is the Strict-Transport-Security value, or "" when HSTS is off.
func hstsHeader(mp *pushv1alpha1.MobileProxy) string {
	h := mp.Spec.HSTS
	if h.Enabled != nil && !*h.Enabled {
		return ""
	}
	maxAge := h.MaxAge
	if maxAge == 0 {
		maxAge = defaultHSTSMaxAge
	}
	v := fmt.Sprintf("max-age=%d", maxAge)
	if h.IncludeSubdomains {
		v += "; includeSubDomains"
	}
	return v
}
