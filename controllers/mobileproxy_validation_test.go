package controllers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pushops/push-operator/internal/testenv"
)

// validProxy is a minimal valid MobileProxy as a user writes it, as YAML-shaped maps so
// each case can break exactly one field the way a user would.
func validProxy() map[string]any {
	return map[string]any{
		"host":    "chat.example.com",
		"backend": map[string]any{"serviceName": "mattermost"},
		"tls":     map[string]any{"secretName": "chat-tls"},
		"exposure": map[string]any{
			"type":    "gateway",
			"gateway": map[string]any{"parentRef": map[string]any{"name": "public"}},
		},
	}
}

func createProxy(t *testing.T, ns, name string, spec map[string]any) error {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "push.pushops.dev/v1alpha1",
		"kind":       "MobileProxy",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       spec,
	}}
	return k8sClient.Create(context.Background(), u)
}

func TestInvalidMobileProxiesAreRejected(t *testing.T) {
	ns := newNamespace(t)
	set := func(path string, v any) func(map[string]any) {
		return func(spec map[string]any) {
			keys := strings.Split(path, ".")
			m := spec
			for _, k := range keys[:len(keys)-1] {
				next, ok := m[k].(map[string]any)
				if !ok {
					next = map[string]any{}
					m[k] = next
				}
				m = next
			}
			if v == nil {
				delete(m, keys[len(keys)-1])
			} else {
				m[keys[len(keys)-1]] = v
			}
		}
	}
	issuer := map[string]any{"name": "letsencrypt"}
	upstreamCA := map[string]any{"caBundle": map[string]any{"name": "chat-server-ca"}}
	cases := []struct {
		name    string
		edits   []func(map[string]any)
		message string
	}{
		{"host with scheme", []func(map[string]any){set("host", "https://chat.example.com")}, "host must be a lowercase DNS name"},
		{"wildcard host", []func(map[string]any){set("host", "*.example.com")}, "host must be a lowercase DNS name"},
		{"host with a port", []func(map[string]any){set("host", "chat.example.com:443")}, "no scheme, port, path or wildcard"},
		{"upper-case host", []func(map[string]any){set("host", "Chat.Example.com")}, "host must be a lowercase DNS name"},
		{"no upstream", []func(map[string]any){set("backend", nil)}, "set exactly one upstream"},
		{"two upstreams", []func(map[string]any){set("externalURL", "https://chat.internal")}, "set exactly one upstream"},
		{"externalURL with a path", []func(map[string]any){set("backend", nil), set("externalURL", "https://chat.internal/mm")}, "externalURL must be an http:// or https:// URL"},
		{"externalURL not http", []func(map[string]any){set("backend", nil), set("externalURL", "ftp://chat.internal")}, "externalURL must be an http:// or https:// URL"},
		{"no TLS source", []func(map[string]any){set("tls.secretName", nil)}, "set exactly one TLS source"},
		{"two TLS sources", []func(map[string]any){set("tls.issuerRef", issuer)}, "set exactly one TLS source"},
		{"wildcard with HTTP-01", []func(map[string]any){set("tls.secretName", nil), set("tls.issuerRef", issuer), set("hosts", []any{"*.example.com"})}, "wildcard hosts need a DNS-01 issuer"},
		{"unknown issuer kind", []func(map[string]any){set("tls.secretName", nil), set("tls.issuerRef", map[string]any{"name": "x", "kind": "Vault"})}, `spec.tls.issuerRef.kind: Unsupported value: "Vault"`},
		{"TLS 1.1", []func(map[string]any){set("tls.minVersion", "1.1")}, `spec.tls.minVersion: Unsupported value: "1.1"`},
		{"host repeated in hosts", []func(map[string]any){set("hosts", []any{"chat.example.com"})}, "do not repeat host"},
		{"extra host without a dot", []func(map[string]any){set("hosts", []any{"chat"})}, "each of hosts must be a lowercase DNS name"},
		{"range not a CIDR", []func(map[string]any){set("exposure", map[string]any{"type": "ingress", "ingress": map[string]any{"profile": "haproxy"}}), set("allowedSourceRanges", []any{"10.0.0.1"})}, "CIDR notation"},
		{"range with host bits", []func(map[string]any){set("exposure", map[string]any{"type": "ingress", "ingress": map[string]any{"profile": "haproxy"}}), set("allowedSourceRanges", []any{"10.0.0.1/8"})}, "no host bits set"},
		{"ranges a Gateway cannot enforce", []func(map[string]any){set("allowedSourceRanges", []any{"10.0.0.0/8"})}, "only through the haproxy Ingress profile"},
		{"gateway without parentRef", []func(map[string]any){set("exposure", map[string]any{"type": "gateway"})}, "needs exposure.gateway.parentRef"},
		{"ingress with gateway settings", []func(map[string]any){set("exposure.type", "ingress")}, "exposure.gateway is only used with exposure.type gateway"},
		{"unknown ingress profile", []func(map[string]any){set("exposure", map[string]any{"type": "ingress", "ingress": map[string]any{"profile": "ingress-nginx"}})}, `Unsupported value: "ingress-nginx"`},
		{"redirect on the HTTPS listener", []func(map[string]any){set("exposure.gateway.parentRef.sectionName", "https"), set("exposure.gateway.redirectSectionName", "https")}, "redirectSectionName must name the plain-HTTP listener"},
		{"redirect without naming the HTTPS listener", []func(map[string]any){set("exposure.gateway.redirectSectionName", "http")}, "parentRef.sectionName must name the HTTPS listener"},
		{"zero body size", []func(map[string]any){set("maxBodySize", "0")}, "maxBodySize must be between"},
		{"timeout of a week", []func(map[string]any){set("timeouts.read", "168h")}, "must be between 1s and 24h"},
		{"externalTLS with an in-cluster backend", []func(map[string]any){set("externalTLS", upstreamCA)}, "set it only with an https:// externalURL"},
		{"externalTLS with an http externalURL", []func(map[string]any){set("backend", nil), set("externalURL", "http://chat.internal:8065"), set("externalTLS", upstreamCA)}, "set it only with an https:// externalURL"},
		{"externalTLS through an Ingress", []func(map[string]any){set("backend", nil), set("externalURL", "https://chat.internal"), set("externalTLS", upstreamCA), set("exposure", map[string]any{"type": "ingress"})}, "externalTLS is applied through a Gateway API BackendTLSPolicy and needs exposure.type gateway"},
		{"externalTLS CA bundle not a ConfigMap name", []func(map[string]any){set("backend", nil), set("externalURL", "https://chat.internal"), set("externalTLS", map[string]any{"caBundle": map[string]any{"name": "Chat CA"}})}, "spec.externalTLS.caBundle.name"},
		{"backend port out of range", []func(map[string]any){set("backend.port", 70000)}, "spec.backend.port"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := validProxy()
			for _, edit := range tc.edits {
				edit(spec)
			}
			err := createProxy(t, ns, "bad-"+strings.Repeat("x", i%3)+string(rune('a'+i%26)), spec)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: got %v, want an Invalid error from the API server", err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err.Error(), tc.message)
			}
		})
	}

	t.Run("the valid base is accepted", func(t *testing.T) {
		if err := createProxy(t, ns, "good", validProxy()); err != nil {
			t.Fatalf("the valid base of the cases above was rejected: %v", err)
		}
	})
}

func TestMobileProxySamplesAreAccepted(t *testing.T) {
	ns := newNamespace(t)
	matches, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "push_v1alpha1_mobileproxy*.yaml"))
	if err != nil || len(matches) < 3 {
		t.Fatalf("want at least three MobileProxy samples, found %v (%v)", matches, err)
	}
	for _, path := range matches {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(data, &u.Object); err != nil {
				t.Fatalf("parsing: %v", err)
			}
			u.SetNamespace(ns)
			if err := k8sClient.Create(context.Background(), u); err != nil {
				t.Fatalf("the API server rejected the sample: %v", err)
			}
		})
	}
}
