package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// backendTLSPolicyCRD is installed after the other Gateway API CRDs, so that the tests see
// a Gateway API without it first (as on a cluster with Gateway API before v1.4).
const backendTLSPolicyCRD = "config/crd/standard/gateway.networking.k8s.io_backendtlspolicies.yaml"

// upstreamTLSProxy is a MobileProxy in front of a chat server outside the cluster at an
// https:// URL, exposed through the Gateway gwNS/public.
func upstreamTLSProxy(ns, gwNS string) *pushv1alpha1.MobileProxy {
	return &pushv1alpha1.MobileProxy{
		ObjectMeta: metav1.ObjectMeta{Name: "upstream-tls", Namespace: ns},
		Spec: pushv1alpha1.MobileProxySpec{
			Host:        "upstream-tls.example.com",
			ExternalURL: "https://Chat.Internal.example.com:8443",
			TLS:         pushv1alpha1.MobileProxyTLS{SecretName: "upstream-tls-tls"},
			Exposure: pushv1alpha1.MobileProxyExposure{Type: pushv1alpha1.ExposureGateway, Gateway: &pushv1alpha1.GatewayExposure{
				ParentRef: pushv1alpha1.GatewayParentRef{Name: "public", Namespace: gwNS, SectionName: "https"},
			}},
		},
	}
}

// testUpstreamTLS runs, once the BackendTLSPolicy CRD is served, the life of the policy of
// the proxy at key (made by upstreamTLSProxy).
func testUpstreamTLS(t *testing.T, key client.ObjectKey) {
	ctx := context.Background()
	policyKey := client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-upstream"}
	storedPolicy := func(check func(*gatewayv1.BackendTLSPolicy) error) func() error {
		return func() error {
			var p gatewayv1.BackendTLSPolicy
			if err := k8sClient.Get(ctx, policyKey, &p); err != nil {
				return err
			}
			return check(&p)
		}
	}

	t.Run("the Gateway is told to speak TLS to an https externalURL, verified with the system roots", func(t *testing.T) {
		mpEventually(t, storedPolicy(func(*gatewayv1.BackendTLSPolicy) error { return nil }))
		mp := getProxy(t, key)
		up, err := chatUpstream(mp)
		if err != nil {
			t.Fatal(err)
		}
		var policy gatewayv1.BackendTLSPolicy
		if err := k8sClient.Get(ctx, policyKey, &policy); err != nil {
			t.Fatal(err)
		}
		if want := buildBackendTLSPolicy(mp, up); !equality.Semantic.DeepEqual(policy.Spec, want.Spec) {
			t.Errorf("the API server stores a different BackendTLSPolicy than rendered:\nstored   %+v\nrendered %+v", policy.Spec, want.Spec)
		}
		v := policy.Spec.Validation
		if v.Hostname != "chat.internal.example.com" || ptr.Deref(v.WellKnownCACertificates, "") != gatewayv1.WellKnownCACertificatesSystem || len(v.CACertificateRefs) != 0 {
			t.Errorf("validation = %+v, want the URL's host name (lower case) and the system roots", v)
		}
		target := policy.Spec.TargetRefs[0]
		if target.Kind != "Service" || target.Name != "upstream-tls-upstream" || ptr.Deref(target.SectionName, "") != "chat" {
			t.Errorf("targetRef = %+v, want the ExternalName Service's port chat", target)
		}
		if !metav1.IsControlledBy(&policy, mp) || policy.Labels["app.kubernetes.io/instance"] != mp.Name {
			t.Errorf("the policy is not controlled and labelled by its MobileProxy: %v %v", policy.OwnerReferences, policy.Labels)
		}
		mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionTrue, pushv1alpha1.ReasonExternalUpstream))
		if msg := mpFindCondition(getProxy(t, key), pushv1alpha1.MobileProxyBackendAvailable).Message; !strings.Contains(msg, "system roots") {
			t.Errorf("BackendAvailable message %q does not say how the upstream is verified", msg)
		}
	})

	t.Run("steady state makes no writes", func(t *testing.T) {
		assertQuietAfter(t, key.Namespace, func() {
			touch(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: "upstream-tls-upstream"}})
			touch(t, &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: policyKey.Namespace, Name: policyKey.Name}})
		})
	})

	t.Run("a CA bundle replaces the system roots", func(t *testing.T) {
		updateProxy(t, key, func(mp *pushv1alpha1.MobileProxy) {
			mp.Spec.ExternalTLS = &pushv1alpha1.ExternalTLS{CABundle: &pushv1alpha1.ConfigMapRef{Name: "chat-server-ca"}}
		})
		mpEventually(t, storedPolicy(func(p *gatewayv1.BackendTLSPolicy) error {
			refs, known := p.Spec.Validation.CACertificateRefs, p.Spec.Validation.WellKnownCACertificates
			if len(refs) != 1 || refs[0] != (gatewayv1.LocalObjectReference{Group: "", Kind: "ConfigMap", Name: "chat-server-ca"}) || known != nil {
				return fmt.Errorf("validation = %+v, want only caCertificateRefs to ConfigMap chat-server-ca", p.Spec.Validation)
			}
			return nil
		}))
		mpEventually(t, func() error {
			c := mpFindCondition(getProxy(t, key), pushv1alpha1.MobileProxyBackendAvailable)
			if !strings.Contains(c.Message, `ConfigMap "chat-server-ca"`) {
				return fmt.Errorf("BackendAvailable message %q does not name the CA bundle", c.Message)
			}
			return nil
		})
	})

	t.Run("a deleted policy is recreated", func(t *testing.T) {
		var old gatewayv1.BackendTLSPolicy
		if err := k8sClient.Get(ctx, policyKey, &old); err != nil {
			t.Fatal(err)
		}
		if err := k8sClient.Delete(ctx, &old); err != nil {
			t.Fatal(err)
		}
		mpEventually(t, storedPolicy(func(p *gatewayv1.BackendTLSPolicy) error {
			if p.UID == old.UID {
				return fmt.Errorf("still the old policy")
			}
			return nil
		}))
	})

	t.Run("an http externalURL deletes the policy", func(t *testing.T) {
		updateProxy(t, key, func(mp *pushv1alpha1.MobileProxy) {
			mp.Spec.ExternalURL = "http://chat.internal.example.com:8065"
			mp.Spec.ExternalTLS = nil
		})
		mpEventually(t, mpGone(policyKey, &gatewayv1.BackendTLSPolicy{}))
		mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionTrue, pushv1alpha1.ReasonExternalUpstream))
	})

	t.Run("an Ingress deletes the policy", func(t *testing.T) {
		updateProxy(t, key, func(mp *pushv1alpha1.MobileProxy) { mp.Spec.ExternalURL = "https://chat.internal.example.com:8443" })
		mpEventually(t, storedPolicy(func(*gatewayv1.BackendTLSPolicy) error { return nil }))
		updateProxy(t, key, func(mp *pushv1alpha1.MobileProxy) {
			mp.Spec.Exposure = pushv1alpha1.MobileProxyExposure{Type: pushv1alpha1.ExposureIngress, Ingress: &pushv1alpha1.IngressExposure{Profile: pushv1alpha1.ProfileNginxInc}}
		})
		mpEventually(t, mpGone(policyKey, &gatewayv1.BackendTLSPolicy{}))
	})
}
