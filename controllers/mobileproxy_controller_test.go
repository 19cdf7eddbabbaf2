package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/internal/certcheck/certtest"
)

// ingressProxy is a MobileProxy exposed through an Ingress, judged against pki's root.
func ingressProxy(ns, name, secret string, pki testPKI, profile pushv1alpha1.IngressProfile) *pushv1alpha1.MobileProxy {
	return &pushv1alpha1.MobileProxy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: pushv1alpha1.MobileProxySpec{
			Host:    name + ".example.com",
			Backend: &pushv1alpha1.MobileProxyBackend{ServiceName: "mattermost"},
			TLS: pushv1alpha1.MobileProxyTLS{
				SecretName:      secret,
				TrustedCABundle: &pushv1alpha1.ConfigMapKeyRef{Name: pki.bundle},
			},
			Exposure: pushv1alpha1.MobileProxyExposure{
				Type:    pushv1alpha1.ExposureIngress,
				Ingress: &pushv1alpha1.IngressExposure{ClassName: "haproxy", Profile: profile},
			},
		},
	}
}

func TestMobileProxyJudgesTheServedCertificate(t *testing.T) {
	ns := newNamespace(t)
	pki := newTestPKI(t, ns)
	mustCreate(t, chatService(ns, "mattermost", 8065))
	now := time.Now()
	stranger := certtest.NewRoot("Stranger CA")
	host := func(name string) string { return name + ".example.com" }

	cases := []struct {
		name   string
		secret func(name string) *corev1.Secret
		status metav1.ConditionStatus
		reason string
		advice string
	}{
		{"valid", func(n string) *corev1.Secret { return pki.validSecret(ns, n, host(n)) }, metav1.ConditionTrue, pushv1alpha1.ReasonCertificateAccepted, "trusted root"},
		{"self-signed", func(n string) *corev1.Secret {
			l := certtest.SelfSigned([]string{host(n)}, certtest.Options{})
			return tlsSecret(ns, n, l.CertPEM, l.KeyPEM)
		}, metav1.ConditionFalse, "SelfSigned", "cert-manager with an ACME issuer"},
		{"untrusted", func(n string) *corev1.Secret {
			l := stranger.Issue([]string{host(n)}, certtest.Options{})
			return tlsSecret(ns, n, certtest.Chain(l.CertPEM, stranger.PEM), l.KeyPEM)
		}, metav1.ConditionFalse, "UntrustedRoot", "Stranger CA"},
		{"incomplete", func(n string) *corev1.Secret {
			l := pki.inter.Issue([]string{host(n)}, certtest.Options{})
			return tlsSecret(ns, n, l.CertPEM, l.KeyPEM)
		}, metav1.ConditionFalse, "IncompleteChain", "full chain"},
		{"expired", func(n string) *corev1.Secret {
			l := pki.inter.Issue([]string{host(n)}, certtest.Options{NotBefore: now.Add(-60 * 24 * time.Hour), NotAfter: now.Add(-time.Hour)})
			return tlsSecret(ns, n, certtest.Chain(l.CertPEM, pki.inter.PEM), l.KeyPEM)
		}, metav1.ConditionFalse, "Expired", "Renew it"},
		{"expiring", func(n string) *corev1.Secret {
			l := pki.inter.Issue([]string{host(n)}, certtest.Options{NotBefore: now.Add(-60 * 24 * time.Hour), NotAfter: now.Add(5 * 24 * time.Hour)})
			return tlsSecret(ns, n, certtest.Chain(l.CertPEM, pki.inter.PEM), l.KeyPEM)
		}, metav1.ConditionTrue, "ExpiringSoon", "Renew it now"},
		{"wrong-host", func(n string) *corev1.Secret { return pki.validSecret(ns, n, "elsewhere.example.com") }, metav1.ConditionFalse, "HostMismatch", host("wrong-host")},
		{"mismatched-key", func(n string) *corev1.Secret {
			s := pki.validSecret(ns, n, host(n))
			s.Data[corev1.TLSPrivateKeyKey] = pki.validSecret(ns, n, host(n)).Data[corev1.TLSPrivateKeyKey]
			return s
		}, metav1.ConditionFalse, "KeyMismatch", "tls.key"},
		{"weak-key", func(n string) *corev1.Secret {
			l := pki.inter.Issue([]string{host(n)}, certtest.Options{RSABits: 1024})
			return tlsSecret(ns, n, certtest.Chain(l.CertPEM, pki.inter.PEM), l.KeyPEM)
		}, metav1.ConditionFalse, "WeakKey", "2048"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustCreate(t, tc.secret(tc.name))
			mp := ingressProxy(ns, tc.name, tc.name, pki, pushv1alpha1.ProfileGeneric)
			mustCreate(t, mp)
			key := client.ObjectKeyFromObject(mp)
			mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyCertificateValid, tc.status, tc.reason))
			got := getProxy(t, key)
			c := mpFindCondition(got, pushv1alpha1.MobileProxyCertificateValid)
			if !strings.Contains(c.Message, tc.advice) {
				t.Errorf("message %q does not say %q", c.Message, tc.advice)
			}
			if got.Status.Certificate == nil || got.Status.Certificate.NotAfter == nil || got.Status.Certificate.Issuer == "" {
				t.Errorf("status.certificate = %+v, want notAfter and issuer", got.Status.Certificate)
			}
			if tc.status == metav1.ConditionFalse {
				ready := mpFindCondition(got, pushv1alpha1.ConditionReady)
				if ready.Status != metav1.ConditionFalse || ready.Reason != tc.reason || ready.Message != c.Message {
					t.Errorf("Ready = %s/%s %q, want False with the certificate's reason and advice", ready.Status, ready.Reason, ready.Message)
				}
				mpEventually(t, eventRecorded(ns, tc.name, tc.reason, corev1.EventTypeWarning))
			}
		})
	}

	t.Run("expiring soon is a warning event", func(t *testing.T) {
		mpEventually(t, eventRecorded(ns, "expiring", "ExpiringSoon", corev1.EventTypeWarning))
	})

	t.Run("a renewed Secret is judged again", func(t *testing.T) {
		var s corev1.Secret
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "expired"}, &s); err != nil {
			t.Fatal(err)
		}
		s.Data = pki.validSecret(ns, "expired", host("expired")).Data
		if err := k8sClient.Update(context.Background(), &s); err != nil {
			t.Fatal(err)
		}
		mpEventually(t, mpCondition(client.ObjectKey{Namespace: ns, Name: "expired"}, pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionTrue, pushv1alpha1.ReasonCertificateAccepted))
		mpEventually(t, eventRecorded(ns, "expired", pushv1alpha1.ReasonCertificateAccepted, corev1.EventTypeNormal)) // a recovery
	})

	t.Run("a missing Secret says how to create one", func(t *testing.T) {
		mp := ingressProxy(ns, "no-secret", "nowhere", pki, pushv1alpha1.ProfileGeneric)
		mustCreate(t, mp)
		key := client.ObjectKeyFromObject(mp)
		mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionFalse, pushv1alpha1.ReasonSecretNotFound))
		if msg := mpFindCondition(getProxy(t, key), pushv1alpha1.ConditionReady).Message; !strings.Contains(msg, "kubectl create secret tls") {
			t.Errorf("Ready message %q does not say how to create the Secret", msg)
		}
	})
}

func mpFindCondition(mp *pushv1alpha1.MobileProxy, typ string) metav1.Condition {
	for _, c := range mp.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

func TestMobileProxyIngressConvergesQuietlyAndHeals(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pki := newTestPKI(t, ns)
	mustCreate(t, chatService(ns, "mattermost", 8065))
	secret := pki.validSecret(ns, "chat-tls", "chat.example.com")
	mustCreate(t, secret)
	mp := ingressProxy(ns, "chat", "chat-tls", pki, pushv1alpha1.ProfileNginxInc)
	mustCreate(t, mp)
	key := client.ObjectKeyFromObject(mp)

	var ing networkingv1.Ingress
	mpEventually(t, func() error { return k8sClient.Get(ctx, key, &ing) })
	stored := getProxy(t, key)
	up, err := chatUpstream(stored)
	if err != nil {
		t.Fatal(err)
	}
	want := buildIngress(stored, up, false)
	wantAnnotations := maps.Clone(want.Annotations)
	wantAnnotations[ownedAnnotationsKey] = strings.Join(slices.Sorted(maps.Keys(want.Annotations)), ",")
	if !equality.Semantic.DeepEqual(ing.Spec, want.Spec) || !equality.Semantic.DeepEqual(ing.Annotations, wantAnnotations) {
		t.Errorf("the API server stores a different Ingress than rendered:\nstored %+v %v\nrendered %+v %v", ing.Spec, ing.Annotations, want.Spec, wantAnnotations)
	}
	if !metav1.IsControlledBy(&ing, stored) {
		t.Error("the Ingress is not controlled by its MobileProxy")
	}

	t.Run("Admitted comes from the Ingress controller's published address", func(t *testing.T) {
		mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyAdmitted, metav1.ConditionUnknown, pushv1alpha1.ReasonAwaitingController))
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.10"}}
		if err := k8sClient.Status().Update(ctx, &ing); err != nil {
			t.Fatal(err)
		}
		mpEventually(t, mpCondition(key, pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonAvailable))
		// A healthy new proxy says one thing: that phones can connect.
		mpEventually(t, eventRecorded(ns, "chat", pushv1alpha1.ReasonAvailable, corev1.EventTypeNormal))
		if got := eventsAbout(t, ns, "MobileProxy"); !slices.Equal(got, []string{"Normal Available"}) {
			t.Errorf("events about a new healthy MobileProxy = %v, want only Normal Available", got)
		}
		got := getProxy(t, key)
		if got.Status.URL != "https://chat.example.com" {
			t.Errorf("status.url = %q", got.Status.URL)
		}
		if got.Status.ObservedGeneration != got.Generation {
			t.Errorf("observedGeneration %d, generation %d", got.Status.ObservedGeneration, got.Generation)
		}
	})

	t.Run("steady state makes no writes", func(t *testing.T) {
		assertQuietAfter(t, ns, func() {
			touch(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mattermost"}})
			touch(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat-tls"}})
		})
	})

	t.Run("a deleted Ingress is recreated", func(t *testing.T) {
		old := ing.UID
		if err := k8sClient.Delete(ctx, &ing); err != nil {
			t.Fatal(err)
		}
		mpEventually(t, func() error {
			var again networkingv1.Ingress
			if err := k8sClient.Get(ctx, key, &again); err != nil {
				return err
			}
			if again.UID == old {
				return fmt.Errorf("still the old Ingress")
			}
			return nil
		})
	})

	t.Run("a spec change is applied", func(t *testing.T) {
		updateProxy(t, key, func(mp *pushv1alpha1.MobileProxy) { mp.Spec.MaxBodySize = "100Mi" })
		mpEventually(t, func() error {
			var again networkingv1.Ingress
			if err := k8sClient.Get(ctx, key, &again); err != nil {
				return err
			}
			if v := again.Annotations["nginx.org/client-max-body-size"]; v != "100m" {
				return fmt.Errorf("client-max-body-size %q", v)
			}
			return nil
		})
	})

	t.Run("annotations of other tools stay, a key dropped from the spec goes", func(t *testing.T) {
		const theirs = "external-dns.alpha.kubernetes.io/ttl"
		updateProxy(t, key, func(mp *pushv1alpha1.MobileProxy) {
			mp.Spec.Exposure.Ingress.Annotations = map[string]string{"nginx.org/location-snippets": "gzip on;"}
		})
		mpEventually(t, func() error {
			var again networkingv1.Ingress
			if err := k8sClient.Get(ctx, key, &again); err != nil {
				return err
			}
			if again.Annotations["nginx.org/location-snippets"] != "gzip on;" {
				return fmt.Errorf("spec annotation not applied: %v", again.Annotations)
			}
			return nil
		})
		var ing networkingv1.Ingress
		if err := k8sClient.Get(ctx, key, &ing); err != nil {
			t.Fatal(err)
		}
		ing.Annotations[theirs] = "60"
		if err := k8sClient.Update(ctx, &ing); err != nil {
			t.Fatal(err)
		}
		updateProxy(t, key, func(mp *pushv1alpha1.MobileProxy) { mp.Spec.Exposure.Ingress.Annotations = nil })
		mpEventually(t, func() error {
			var again networkingv1.Ingress
			if err := k8sClient.Get(ctx, key, &again); err != nil {
				return err
			}
			if _, ok := again.Annotations["nginx.org/location-snippets"]; ok {
				return fmt.Errorf("annotation removed from the spec is still set: %v", again.Annotations)
			}
			if again.Annotations[theirs] != "60" {
				return fmt.Errorf("another tool's annotation was removed: %v", again.Annotations)
			}
			return nil
		})
	})
}

func TestMobileProxyReportsTheBackendService(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pki := newTestPKI(t, ns)
	mustCreate(t, pki.validSecret(ns, "chat-tls", "chat.example.com"))
	mp := ingressProxy(ns, "chat", "chat-tls", pki, pushv1alpha1.ProfileGeneric)
	mustCreate(t, mp)
	key := client.ObjectKeyFromObject(mp)

	mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionFalse, pushv1alpha1.ReasonServiceNotFound))
	svc := chatService(ns, "mattermost", 80)
	mustCreate(t, svc)
	mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionFalse, pushv1alpha1.ReasonPortNotFound))
	svc.Spec.Ports[0].Port = 8065
	if err := k8sClient.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionTrue, pushv1alpha1.ReasonServiceFound))
}

func TestMobileProxyForAnExternalChatServer(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pki := newTestPKI(t, ns)
	mp := ingressProxy(ns, "chat", "chat-tls", pki, pushv1alpha1.ProfileTraefik)
	mp.Spec.Backend = nil
	mp.Spec.ExternalURL = "https://chat.internal.example.com"
	mustCreate(t, mp)
	var svc corev1.Service
	mpEventually(t, func() error { return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "chat-upstream"}, &svc) })
	if svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "chat.internal.example.com" ||
		svc.Spec.Ports[0].Port != 443 || ptr.Deref(svc.Spec.Ports[0].AppProtocol, "") != "https" {
		t.Errorf("ExternalName Service = %+v", svc.Spec)
	}
	mpEventually(t, mpCondition(client.ObjectKeyFromObject(mp), pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionTrue, pushv1alpha1.ReasonExternalUpstream))
	assertQuietAfter(t, ns, func() {
		touch(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat-upstream"}})
		touch(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pki.bundle}})
	})
}

func TestMobileProxyRoutesThePushServiceRelay(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pki := newTestPKI(t, ns)
	mustCreate(t, chatService(ns, "mattermost", 8065))
	mustCreate(t, pki.validSecret(ns, "chat-tls", "chat.example.com"))
	mp := ingressProxy(ns, "chat", "chat-tls", pki, pushv1alpha1.ProfileGeneric)
	mp.Spec.PushService = &pushv1alpha1.LocalRef{Name: "push"}
	mustCreate(t, mp)
	key := client.ObjectKeyFromObject(mp)
	mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionFalse, pushv1alpha1.ReasonPushServiceNotFound))

	// Without credentials the PushService controller deploys nothing, so the test creates
	// the relay's Service itself, named and numbered as that controller does.
	mustCreate(t, &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns},
		Spec: pushv1alpha1.PushServiceSpec{Apps: []pushv1alpha1.PushApp{{Platform: "android_rn", FCM: &pushv1alpha1.FCMApp{
			ServiceAccountSecretRef: pushv1alpha1.FCMServiceAccountRef{Name: "fcm"},
		}}}},
	})
	mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionFalse, pushv1alpha1.ReasonServiceNotFound))
	mustCreate(t, chatService(ns, "push", relayPort))
	mpEventually(t, mpCondition(key, pushv1alpha1.MobileProxyBackendAvailable, metav1.ConditionTrue, pushv1alpha1.ReasonServiceFound))

	var ing networkingv1.Ingress
	if err := k8sClient.Get(ctx, key, &ing); err != nil {
		t.Fatal(err)
	}
	var relayPath *networkingv1.HTTPIngressPath
	for i, p := range ing.Spec.Rules[0].HTTP.Paths {
		if p.Path == relayPathPrefix {
			relayPath = &ing.Spec.Rules[0].HTTP.Paths[i]
		}
	}
	if relayPath == nil || relayPath.Backend.Service.Name != "push" || relayPath.Backend.Service.Port.Number != relayPort {
		t.Errorf("no %s path to Service push:%d in %+v", relayPathPrefix, relayPort, ing.Spec.Rules[0].HTTP.Paths)
	}
}
