package controllers

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// The golden files under testdata/mobileproxy were reviewed by hand against the chat
// server's reference nginx configuration; `go test ./controllers -run Golden -update`
// rewrites them after an intended change, for review in the diff.
var updateGolden = flag.Bool("update", false, "rewrite the golden files")

// goldenProxy is a MobileProxy as the API server stores it, defaults applied.
func goldenProxy(mutate ...func(*pushv1alpha1.MobileProxy)) *pushv1alpha1.MobileProxy {
	mp := &pushv1alpha1.MobileProxy{
		ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: "team"},
		Spec: pushv1alpha1.MobileProxySpec{
			Host:    "chat.example.com",
			Backend: &pushv1alpha1.MobileProxyBackend{ServiceName: "mattermost", Port: 8065},
			TLS:     pushv1alpha1.MobileProxyTLS{SecretName: "chat-example-com", MinVersion: "1.2"},
			Exposure: pushv1alpha1.MobileProxyExposure{
				Type: pushv1alpha1.ExposureGateway,
				Gateway: &pushv1alpha1.GatewayExposure{ParentRef: pushv1alpha1.GatewayParentRef{
					Name: "public", Namespace: "gateways", SectionName: "https",
				}},
			},
			HSTS:        pushv1alpha1.HSTS{Enabled: ptr.To(true), MaxAge: 31536000},
			MaxBodySize: "50Mi",
			Timeouts: pushv1alpha1.Timeouts{
				Read:          &metav1.Duration{Duration: defaultReadTimeout},
				Send:          &metav1.Duration{Duration: defaultSendTimeout},
				WebsocketIdle: &metav1.Duration{Duration: defaultWebsocketTimeout},
			},
		},
	}
	for _, m := range mutate {
		m(mp)
	}
	return mp
}

func asIngress(profile pushv1alpha1.IngressProfile) func(*pushv1alpha1.MobileProxy) {
	return func(mp *pushv1alpha1.MobileProxy) {
		mp.Spec.Exposure = pushv1alpha1.MobileProxyExposure{
			Type:    pushv1alpha1.ExposureIngress,
			Ingress: &pushv1alpha1.IngressExposure{ClassName: string(profile), Profile: profile},
		}
	}
}

func withIssuer(mp *pushv1alpha1.MobileProxy) {
	mp.Spec.TLS = pushv1alpha1.MobileProxyTLS{MinVersion: "1.2", IssuerRef: &pushv1alpha1.IssuerRef{Name: "letsencrypt", Kind: "ClusterIssuer", Challenge: "HTTP01"}}
}

func withRelay(mp *pushv1alpha1.MobileProxy) {
	mp.Spec.PushService = &pushv1alpha1.LocalRef{Name: "push"}
}

func external(mp *pushv1alpha1.MobileProxy) {
	mp.Spec.Backend = nil
	mp.Spec.ExternalURL = "https://chat.internal.example.com:8443"
}

func withUpstreamCA(mp *pushv1alpha1.MobileProxy) {
	mp.Spec.ExternalTLS = &pushv1alpha1.ExternalTLS{CABundle: &pushv1alpha1.ConfigMapRef{Name: "chat-server-ca"}}
}

func TestGoldenRenderings(t *testing.T) {
	mustUp := func(mp *pushv1alpha1.MobileProxy) proxyUpstream {
		up, err := chatUpstream(mp)
		if err != nil {
			t.Fatal(err)
		}
		return up
	}
	cases := map[string]func() any{
		"httproute": func() any {
			mp := goldenProxy(withRelay, func(mp *pushv1alpha1.MobileProxy) { mp.Spec.Hosts = []pushv1alpha1.ExtraHost{"mm.example.com"} })
			return buildHTTPRoute(mp, mustUp(mp))
		},
		"httproute-redirect": func() any {
			return buildRedirectRoute(goldenProxy(func(mp *pushv1alpha1.MobileProxy) { mp.Spec.Exposure.Gateway.RedirectSectionName = "http" }))
		},
		"referencegrant": func() any {
			return buildReferenceGrant(goldenProxy(func(mp *pushv1alpha1.MobileProxy) { mp.Spec.Exposure.Gateway.GrantCertificateAccess = true }))
		},
		"certificate": func() any { return buildCertificate(goldenProxy(withIssuer)) },
		"externalname-service": func() any {
			mp := goldenProxy(external)
			return buildExternalService(mp, mustUp(mp), pushv1alpha1.ProfileTraefik)
		},
		"backendtlspolicy": func() any {
			mp := goldenProxy(external)
			return buildBackendTLSPolicy(mp, mustUp(mp))
		},
		"backendtlspolicy-cabundle": func() any {
			mp := goldenProxy(external, withUpstreamCA)
			return buildBackendTLSPolicy(mp, mustUp(mp))
		},
		"ingress-generic-shim": func() any {
			mp := goldenProxy(asIngress(pushv1alpha1.ProfileGeneric), withIssuer)
			return buildIngress(mp, mustUp(mp), true)
		},
		"ingress-traefik": func() any {
			mp := goldenProxy(asIngress(pushv1alpha1.ProfileTraefik))
			return buildIngress(mp, mustUp(mp), false)
		},
		"ingress-haproxy": func() any {
			mp := goldenProxy(asIngress(pushv1alpha1.ProfileHAProxy), withRelay, func(mp *pushv1alpha1.MobileProxy) {
				mp.Spec.AllowedSourceRanges = []pushv1alpha1.CIDR{"203.0.113.0/24", "2001:db8::/32"}
			})
			return buildIngress(mp, mustUp(mp), false)
		},
		"ingress-nginx-inc": func() any {
			mp := goldenProxy(asIngress(pushv1alpha1.ProfileNginxInc), external, func(mp *pushv1alpha1.MobileProxy) {
				mp.Spec.HSTS.IncludeSubdomains = true
				mp.Spec.Exposure.Ingress.Annotations = map[string]string{"nginx.org/keepalive": "64"}
			})
			return buildIngress(mp, mustUp(mp), false)
		},
	}
	for name, render := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := yaml.Marshal(render())
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "mobileproxy", name+".yaml"), got)
		})
	}
}

// TestBackendTLSPolicyOnlyForTLSThroughAGateway: the policy exists only where a Gateway
// speaks to a chat server over https://; everywhere else it would be wrong or unread.
func TestBackendTLSPolicyOnlyForTLSThroughAGateway(t *testing.T) {
	cases := []struct {
		name   string
		mutate []func(*pushv1alpha1.MobileProxy)
		want   bool
	}{
		{"https externalURL through a Gateway", []func(*pushv1alpha1.MobileProxy){external}, true},
		{"http externalURL", []func(*pushv1alpha1.MobileProxy){external, func(mp *pushv1alpha1.MobileProxy) { mp.Spec.ExternalURL = "http://chat.internal.example.com" }}, false},
		{"in-cluster backend", nil, false},
		{"https externalURL through an Ingress", []func(*pushv1alpha1.MobileProxy){external, asIngress(pushv1alpha1.ProfileNginxInc)}, false},
	}
	for _, tc := range cases {
		mp := goldenProxy(tc.mutate...)
		up, err := chatUpstream(mp)
		if err != nil {
			t.Fatal(err)
		}
		if got := buildBackendTLSPolicy(mp, up) != nil; got != tc.want {
			t.Errorf("%s: policy rendered %v, want %v", tc.name, got, tc.want)
		}
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the rendering; got:\n%s", path, got)
	}
}

func TestHSTSHeader(t *testing.T) {
	cases := []struct {
		hsts pushv1alpha1.HSTS
		want string
	}{
		{pushv1alpha1.HSTS{}, "max-age=31536000"},
		{pushv1alpha1.HSTS{Enabled: ptr.To(true), MaxAge: 600, IncludeSubdomains: true}, "max-age=600; includeSubDomains"},
		{pushv1alpha1.HSTS{Enabled: ptr.To(false), MaxAge: 600}, ""},
	}
	for _, tc := range cases {
		if got := hstsHeader(goldenProxy(func(mp *pushv1alpha1.MobileProxy) { mp.Spec.HSTS = tc.hsts })); got != tc.want {
			t.Errorf("hstsHeader(%+v) = %q, want %q", tc.hsts, got, tc.want)
		}
	}
}

func TestNginxSize(t *testing.T) {
	for in, want := range map[int64]string{50 << 20: "50m", 1 << 30: "1g", 1536: "1536", 2048: "2k", 1000: "1000"} {
		if got := nginxSize(in); got != want {
			t.Errorf("nginxSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestCertificateIsJudgedAgainWhenTimeAloneChangesTheVerdict(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		notAfter time.Duration
		want     time.Duration
	}{
		{notAfter: 90 * day, want: day},                               // far from both: daily
		{notAfter: 30*day + time.Hour, want: time.Hour + time.Second}, // warning starts in an hour
		{notAfter: 10 * day, want: day},                               // already warned, expiry far
		{notAfter: 2 * time.Hour, want: 2*time.Hour + time.Second},    // expires soon
		{notAfter: -time.Hour, want: day},                             // already expired
	}
	for _, tc := range cases {
		if got := nextChange(now, now.Add(tc.notAfter)); got != tc.want {
			t.Errorf("notAfter in %v: recheck after %v, want %v", tc.notAfter, got, tc.want)
		}
	}
}
