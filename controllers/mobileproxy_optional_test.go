package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// TestMobileProxyWithAndWithoutOptionalAPIs is the one test that installs the Gateway API
// and cert-manager CRDs into the shared API server. Its phases run in order: first the
// behaviour without them, then it installs the published CRDs from the Go module cache and
// checks that the same MobileProxies converge without being touched, then everything that
// needs the CRDs. No other test installs them, so the "without" phase sees a clean server
// unless the package's tests run twice in one process (-count>1), where it is skipped.
func TestMobileProxyWithAndWithoutOptionalAPIs(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	gwNS := newNamespace(t)
	pki := newTestPKI(t, ns)
	mustCreate(t, chatService(ns, "mattermost", 8065))
	mustCreate(t, pki.validSecret(ns, "chat-tls", "chat.example.com", "mm.example.com"))

	gatewayProxy := &pushv1alpha1.MobileProxy{
		ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: ns},
		Spec: pushv1alpha1.MobileProxySpec{
			Host:    "chat.example.com",
			Hosts:   []pushv1alpha1.ExtraHost{"mm.example.com"},
			Backend: &pushv1alpha1.MobileProxyBackend{ServiceName: "mattermost"},
			TLS:     pushv1alpha1.MobileProxyTLS{SecretName: "chat-tls", TrustedCABundle: &pushv1alpha1.ConfigMapKeyRef{Name: pki.bundle}},
			Exposure: pushv1alpha1.MobileProxyExposure{Gateway: &pushv1alpha1.GatewayExposure{
				ParentRef:              pushv1alpha1.GatewayParentRef{Name: "public", Namespace: gwNS, SectionName: "https"},
				RedirectSectionName:    "http",
				GrantCertificateAccess: true,
			}},
		},
	}
	issuedProxy := &pushv1alpha1.MobileProxy{
		ObjectMeta: metav1.ObjectMeta{Name: "issued", Namespace: ns},
		Spec: pushv1alpha1.MobileProxySpec{
			Host:    "issued.example.com",
			Backend: &pushv1alpha1.MobileProxyBackend{ServiceName: "mattermost"},
			TLS: pushv1alpha1.MobileProxyTLS{
				IssuerRef:       &pushv1alpha1.IssuerRef{Name: "letsencrypt"},
				TrustedCABundle: &pushv1alpha1.ConfigMapKeyRef{Name: pki.bundle},
			},
			Exposure: pushv1alpha1.MobileProxyExposure{Type: pushv1alpha1.ExposureIngress},
		},
	}
	// In a namespace of its own, so that its steady state is counted alone.
	upstreamProxy := upstreamTLSProxy(newNamespace(t), gwNS)
	gwKey, issuedKey, upstreamKey := client.ObjectKeyFromObject(gatewayProxy), client.ObjectKeyFromObject(issuedProxy), client.ObjectKeyFromObject(upstreamProxy)

	t.Run("without the CRDs", func(t *testing.T) {
		if servedNow(t, httpRouteGVK.GroupKind()) || servedNow(t, certificateGVK.GroupKind()) {
			t.Skip("the optional CRDs are already installed (tests run more than once in this process)")
		}
		mustCreate(t, gatewayProxy)
		mustCreate(t, issuedProxy)
		mustCreate(t, upstreamProxy)
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.MobileProxyAdmitted, metav1.ConditionFalse, pushv1alpha1.ReasonGatewayAPINotInstalled))
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonGatewayAPINotInstalled))
		// The certificate is still judged: it is what the Gateway will serve.
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionTrue, pushv1alpha1.ReasonCertificateAccepted))

		mpEventually(t, mpCondition(issuedKey, pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionFalse, pushv1alpha1.ReasonCertManagerNotInstalled))
		var ing networkingv1.Ingress
		mpEventually(t, func() error { return k8sClient.Get(ctx, issuedKey, &ing) })
		if got := ing.Annotations[shimClusterIssuerAnnotation]; got != "letsencrypt" {
			t.Errorf("ingress-shim annotation = %q, want letsencrypt (annotations %v)", got, ing.Annotations)
		}

		// The upstream is still named; that TLS to it is not set up is said, not hidden.
		mpEventually(t, mpCondition(upstreamKey, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionTrue, pushv1alpha1.ReasonBackendTLSPolicyNotInstalled))
	})

	installCRDs(t, "sigs.k8s.io/gateway-api", gatewayAPICRDs...)
	installCRDs(t, "github.com/cert-manager/cert-manager", certManagerCRDs...)
	for _, p := range []*pushv1alpha1.MobileProxy{gatewayProxy, issuedProxy, upstreamProxy} {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &pushv1alpha1.MobileProxy{}); err != nil {
			mustCreate(t, p) // the "without" phase was skipped
		}
	}

	t.Run("Gateway API without BackendTLSPolicy: the route is made, the missing TLS policy said", func(t *testing.T) {
		if servedNow(t, backendTLSPolicyGVK.GroupKind()) {
			t.Skip("the BackendTLSPolicy CRD is already installed (tests run more than once in this process)")
		}
		mpEventually(t, func() error { return k8sClient.Get(ctx, upstreamKey, &gatewayv1.HTTPRoute{}) })
		mpEventually(t, mpCondition(upstreamKey, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionTrue, pushv1alpha1.ReasonBackendTLSPolicyNotInstalled))
		msg := mpFindCondition(getProxy(t, upstreamKey), pushv1alpha1.MobileProxyBackendAvailable).Message
		if !strings.Contains(msg, "BackendTLSPolicy CRD") || !strings.Contains(msg, "plain HTTP to port 8443") {
			t.Errorf("BackendAvailable message %q does not say that TLS to the upstream is not set up", msg)
		}
	})

	installCRDs(t, "sigs.k8s.io/gateway-api", backendTLSPolicyCRD)
	t.Run("BackendTLSPolicy for an https externalURL", func(t *testing.T) { testUpstreamTLS(t, upstreamKey) })

	t.Run("the HTTPRoutes appear once the CRDs do, as rendered", func(t *testing.T) {
		var route gatewayv1.HTTPRoute
		mpEventually(t, func() error { return k8sClient.Get(ctx, gwKey, &route) })
		stored := getProxy(t, gwKey)
		up, _ := chatUpstream(stored)
		if want := buildHTTPRoute(stored, up); !equality.Semantic.DeepEqual(route.Spec, want.Spec) {
			t.Errorf("the API server stores a different HTTPRoute than rendered:\nstored   %+v\nrendered %+v", route.Spec, want.Spec)
		}
		var redirect gatewayv1.HTTPRoute
		mpEventually(t, func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "chat-redirect"}, &redirect)
		})
		if want := buildRedirectRoute(stored); !equality.Semantic.DeepEqual(redirect.Spec, want.Spec) {
			t.Errorf("stored redirect route differs from rendered:\nstored   %+v\nrendered %+v", redirect.Spec, want.Spec)
		}
		var grant gatewayv1.ReferenceGrant
		mpEventually(t, func() error { return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "chat-tls"}, &grant) })
		if string(grant.Spec.From[0].Namespace) != gwNS || string(ptr.Deref(grant.Spec.To[0].Name, "")) != "chat-tls" {
			t.Errorf("ReferenceGrant = %+v", grant.Spec)
		}
	})

	t.Run("Admitted follows the Gateway and the route status", func(t *testing.T) {
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.MobileProxyAdmitted, metav1.ConditionFalse, pushv1alpha1.ReasonGatewayNotFound))
		mustCreate(t, &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: "public", Namespace: gwNS},
			Spec: gatewayv1.GatewaySpec{
				GatewayClassName: "example",
				Listeners: []gatewayv1.Listener{
					{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443, TLS: &gatewayv1.ListenerTLSConfig{
						Mode:            ptr.To(gatewayv1.TLSModeTerminate),
						CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "chat-tls", Namespace: ptr.To(gatewayv1.Namespace(ns))}},
					}},
					{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
				},
			},
		})
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.MobileProxyAdmitted, metav1.ConditionUnknown, pushv1alpha1.ReasonAwaitingController))

		// Write the route status as the Gateway's controller would.
		setRouteStatus(t, gwKey, gwNS, metav1.ConditionTrue, "ResolvedRefs", "")
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonAvailable))

		setRouteStatus(t, gwKey, gwNS, metav1.ConditionFalse, "BackendNotFound", "service mattermost has no endpoints")
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.MobileProxyAdmitted, metav1.ConditionFalse, pushv1alpha1.ReasonRouteNotAccepted))
		if msg := mpFindCondition(getProxy(t, gwKey), pushv1alpha1.ConditionReady).Message; !strings.Contains(msg, "BackendNotFound") {
			t.Errorf("Ready message %q does not carry the Gateway's reason", msg)
		}
		setRouteStatus(t, gwKey, gwNS, metav1.ConditionTrue, "ResolvedRefs", "")
		mpEventually(t, mpCondition(gwKey, pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonAvailable))
	})

	t.Run("steady state on the Gateway path makes no writes", func(t *testing.T) {
		assertQuietAfter(t, ns, func() {
			touch(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat-tls"}})
			touch(t, &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: gwNS, Name: "public"}})
		})
	})

	t.Run("a deleted HTTPRoute is recreated", func(t *testing.T) {
		var route gatewayv1.HTTPRoute
		if err := k8sClient.Get(ctx, gwKey, &route); err != nil {
			t.Fatal(err)
		}
		if err := k8sClient.Delete(ctx, &route); err != nil {
			t.Fatal(err)
		}
		mpEventually(t, func() error {
			var again gatewayv1.HTTPRoute
			if err := k8sClient.Get(ctx, gwKey, &again); err != nil {
				return err
			}
			if again.UID == route.UID {
				return fmt.Errorf("still the old route")
			}
			return nil
		})
	})

	t.Run("cert-manager: a Certificate replaces the ingress-shim annotation", func(t *testing.T) {
		var cert cmv1.Certificate
		mpEventually(t, func() error { return k8sClient.Get(ctx, issuedKey, &cert) })
		if want := buildCertificate(getProxy(t, issuedKey)); !equality.Semantic.DeepEqual(cert.Spec, want.Spec) {
			t.Errorf("stored Certificate differs from rendered:\nstored   %+v\nrendered %+v", cert.Spec, want.Spec)
		}
		mpEventually(t, func() error {
			var ing networkingv1.Ingress
			if err := k8sClient.Get(ctx, issuedKey, &ing); err != nil {
				return err
			}
			if _, ok := ing.Annotations[shimClusterIssuerAnnotation]; ok {
				return fmt.Errorf("ingress-shim annotation still set: %v", ing.Annotations)
			}
			return nil
		})
		mpEventually(t, mpCondition(issuedKey, pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionUnknown, pushv1alpha1.ReasonCertificatePending))

		// cert-manager issues: it writes the Secret the Certificate names.
		mustCreate(t, pki.validSecret(ns, "issued-tls", "issued.example.com"))
		mpEventually(t, mpCondition(issuedKey, pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionTrue, pushv1alpha1.ReasonCertificateAccepted))
	})

	t.Run("switching to Gateway API and an existing Secret removes the Ingress and the Certificate", func(t *testing.T) {
		updateProxy(t, issuedKey, func(mp *pushv1alpha1.MobileProxy) {
			mp.Spec.TLS = pushv1alpha1.MobileProxyTLS{SecretName: "issued-tls", TrustedCABundle: &pushv1alpha1.ConfigMapKeyRef{Name: pki.bundle}}
			mp.Spec.Exposure = pushv1alpha1.MobileProxyExposure{Type: pushv1alpha1.ExposureGateway, Gateway: &pushv1alpha1.GatewayExposure{
				ParentRef: pushv1alpha1.GatewayParentRef{Name: "public", Namespace: gwNS, SectionName: "https"},
			}}
		})
		mpEventually(t, func() error { return k8sClient.Get(ctx, issuedKey, &gatewayv1.HTTPRoute{}) })
		mpEventually(t, mpGone(issuedKey, &networkingv1.Ingress{}))
		mpEventually(t, mpGone(issuedKey, &cmv1.Certificate{}))
		mpEventually(t, mpCondition(issuedKey, pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionTrue, pushv1alpha1.ReasonCertificateAccepted))
	})

	t.Run("golden renderings pass the published schemas", func(t *testing.T) {
		target := newNamespace(t)
		for name, obj := range map[string]client.Object{
			"route":              buildHTTPRoute(goldenProxy(withRelay), proxyUpstream{ServiceName: "mattermost", Port: 8065}),
			"redirect":           buildRedirectRoute(goldenProxy(func(mp *pushv1alpha1.MobileProxy) { mp.Spec.Exposure.Gateway.RedirectSectionName = "http" })),
			"grant":              buildReferenceGrant(goldenProxy(func(mp *pushv1alpha1.MobileProxy) { mp.Spec.Exposure.Gateway.GrantCertificateAccess = true })),
			"cert":               buildCertificate(goldenProxy(withIssuer)),
			"backend TLS policy": buildBackendTLSPolicy(goldenProxy(external), proxyUpstream{ServiceName: "chat-upstream", Scheme: "https", ExternalHost: "chat.internal.example.com"}),
			"backend TLS policy with a CA bundle": renamed(buildBackendTLSPolicy(goldenProxy(external, withUpstreamCA),
				proxyUpstream{ServiceName: "chat-upstream", Scheme: "https", ExternalHost: "chat.internal.example.com"}), "chat-upstream-ca"),
		} {
			obj.SetNamespace(target)
			if err := k8sClient.Create(ctx, obj); err != nil {
				t.Errorf("%s: the API server rejected the rendering: %v", name, err)
			}
		}
	})
}

// renamed gives obj another name, for two renderings of one kind in one namespace.
func renamed(obj client.Object, name string) client.Object {
	obj.SetName(name)
	return obj
}

// setRouteStatus writes the HTTPRoute's status for our parent as a Gateway controller would.
func setRouteStatus(t *testing.T, key client.ObjectKey, gwNS string, resolved metav1.ConditionStatus, reason, msg string) {
	t.Helper()
	ctx := context.Background()
	var route gatewayv1.HTTPRoute
	if err := k8sClient.Get(ctx, key, &route); err != nil {
		t.Fatal(err)
	}
	if msg == "" {
		msg = "resolved"
	}
	route.Status.Parents = []gatewayv1.RouteParentStatus{{
		ParentRef:      parentRef(gwNS, "public", "https"),
		ControllerName: "example.com/gateway-controller",
		Conditions: []metav1.Condition{
			{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", Message: "accepted", LastTransitionTime: metav1.Now(), ObservedGeneration: route.Generation},
			{Type: "ResolvedRefs", Status: resolved, Reason: reason, Message: msg, LastTransitionTime: metav1.Now(), ObservedGeneration: route.Generation},
		},
	}}
	if err := k8sClient.Status().Update(ctx, &route); err != nil {
		t.Fatal(err)
	}
}

// servedNow asks discovery afresh whether a kind is served.
func servedNow(t *testing.T, gk schema.GroupKind) bool {
	t.Helper()
	_, err := k8sClient.RESTMapper().RESTMapping(gk, "v1")
	if err != nil && !meta.IsNoMatchError(err) {
		t.Fatal(err)
	}
	return err == nil
}

// mpGone checks that an object no longer exists (or is being deleted).
func mpGone(key client.ObjectKey, obj client.Object) func() error {
	return func() error {
		err := k8sClient.Get(context.Background(), key, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil && obj.GetDeletionTimestamp() == nil {
			return fmt.Errorf("%T %s still exists", obj, key)
		}
		return err
	}
}
