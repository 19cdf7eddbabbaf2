package controllers

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// Every rule of the PushService schema, checked against the real API server: each invalid
// object is refused with a message that tells the user what to change.
func TestInvalidPushServicesAreRejected(t *testing.T) {
	ns := newNamespace(t)
	apns := func() *pushv1alpha1.APNsApp {
		return &pushv1alpha1.APNsApp{Topic: "com.example.chat", KeyID: "ABCDEFGHIJ", TeamID: "TEAM123456",
			AuthKeySecretRef: &pushv1alpha1.APNsAuthKeyRef{Name: "apns"}}
	}
	fcm := func() *pushv1alpha1.FCMApp {
		return &pushv1alpha1.FCMApp{ServiceAccountSecretRef: pushv1alpha1.FCMServiceAccountRef{Name: "fcm"}}
	}
	withApp := func(app pushv1alpha1.PushApp) func(*pushv1alpha1.PushServiceSpec) {
		return func(s *pushv1alpha1.PushServiceSpec) { s.Apps = []pushv1alpha1.PushApp{app} }
	}
	withAPNs := func(mutate func(*pushv1alpha1.APNsApp)) func(*pushv1alpha1.PushServiceSpec) {
		a := apns()
		mutate(a)
		return withApp(pushv1alpha1.PushApp{Platform: "apple_rn", APNs: a})
	}
	forward := func(s *pushv1alpha1.PushServiceSpec) {
		s.Mode = pushv1alpha1.PushModeForward
		s.Apps = nil
	}
	cases := []struct {
		name    string
		mutate  func(*pushv1alpha1.PushServiceSpec)
		message string
	}{
		{"unknown mode", func(s *pushv1alpha1.PushServiceSpec) { s.Mode = "carrier-pigeon" },
			`spec.mode: Unsupported value: "carrier-pigeon"`},
		{"direct mode without apps", func(s *pushv1alpha1.PushServiceSpec) { s.Apps = nil },
			"mode direct needs at least one entry in apps"},
		{"platform with capitals", withApp(pushv1alpha1.PushApp{Platform: "Apple RN", FCM: fcm()}),
			"spec.apps[0].platform: Invalid value"},
		{"duplicate platform", func(s *pushv1alpha1.PushServiceSpec) {
			s.Apps = []pushv1alpha1.PushApp{{Platform: "android", FCM: fcm()}, {Platform: "android", FCM: fcm()}}
		}, `spec.apps[1]: Duplicate value: {"platform":"android"}`},
		{"app without credentials", withApp(pushv1alpha1.PushApp{Platform: "android"}),
			"each app needs exactly one of apns (iOS) or fcm (Android)"},
		{"app with both apns and fcm", withApp(pushv1alpha1.PushApp{Platform: "both", APNs: apns(), FCM: fcm()}),
			"each app needs exactly one of apns (iOS) or fcm (Android)"},
		{"apns without auth", withAPNs(func(a *pushv1alpha1.APNsApp) { a.AuthKeySecretRef = nil; a.KeyID = ""; a.TeamID = "" }),
			"apns needs exactly one of authKeySecretRef (token auth, .p8) or certificateSecretRef"},
		{"apns with both auth kinds", withAPNs(func(a *pushv1alpha1.APNsApp) {
			a.CertificateSecretRef = &pushv1alpha1.APNsCertificateRef{Name: "c", PasswordKey: "p"}
		}), "apns needs exactly one of authKeySecretRef (token auth, .p8) or certificateSecretRef"},
		{"token auth without keyID", withAPNs(func(a *pushv1alpha1.APNsApp) { a.KeyID = "" }),
			"token auth (authKeySecretRef) needs keyID and teamID"},
		{"keyID with certificate auth", withAPNs(func(a *pushv1alpha1.APNsApp) {
			a.AuthKeySecretRef = nil
			a.TeamID = ""
			a.CertificateSecretRef = &pushv1alpha1.APNsCertificateRef{Name: "c", PasswordKey: "p"}
		}), "keyID and teamID belong to token auth"},
		{"certificate auth without password key", withAPNs(func(a *pushv1alpha1.APNsApp) {
			a.AuthKeySecretRef, a.KeyID, a.TeamID = nil, "", ""
			a.CertificateSecretRef = &pushv1alpha1.APNsCertificateRef{Name: "c"}
		}), "spec.apps[0].apns.certificateSecretRef.passwordKey: Invalid value: \"\": spec.apps[0].apns.certificateSecretRef.passwordKey in body should be at least 1 chars long"},
		{"keyID of the wrong length", withAPNs(func(a *pushv1alpha1.APNsApp) { a.KeyID = "ABC" }),
			"spec.apps[0].apns.keyID: Invalid value"},
		{"topic that is not a bundle ID", withAPNs(func(a *pushv1alpha1.APNsApp) { a.Topic = "chat" }),
			"spec.apps[0].apns.topic: Invalid value"},
		{"unknown APNs environment", withAPNs(func(a *pushv1alpha1.APNsApp) { a.Environment = "staging" }),
			`spec.apps[0].apns.environment: Unsupported value: "staging"`},
		{"plain-HTTP APNs endpoint", withAPNs(func(a *pushv1alpha1.APNsApp) { a.Endpoint = "http://apns.example.com" }),
			"spec.apps[0].apns.endpoint: Invalid value"},
		{"FCM without Secret name", withApp(pushv1alpha1.PushApp{Platform: "android", FCM: &pushv1alpha1.FCMApp{}}),
			"spec.apps[0].fcm.serviceAccountSecretRef.name"},
		{"forward settings in direct mode", func(s *pushv1alpha1.PushServiceSpec) {
			s.Forward = &pushv1alpha1.ForwardSpec{EgressProxy: "http://proxy:3128"}
		}, "forward is only allowed with mode: forward"},
		{"plain-HTTP upstream", func(s *pushv1alpha1.PushServiceSpec) {
			forward(s)
			s.Forward = &pushv1alpha1.ForwardSpec{UpstreamURL: "http://push.example.com"}
		}, "spec.forward.upstreamURL: Invalid value"},
		{"egress proxy with credentials in the URL", func(s *pushv1alpha1.PushServiceSpec) {
			forward(s)
			s.Forward = &pushv1alpha1.ForwardSpec{EgressProxy: "http://user:pw@proxy:3128"}
		}, "spec.forward.egressProxy: Invalid value"},
		{"unknown content policy", func(s *pushv1alpha1.PushServiceSpec) { s.ContentPolicy = "some" },
			`spec.contentPolicy: Unsupported value: "some"`},
		{"client CA without TLS", func(s *pushv1alpha1.PushServiceSpec) {
			s.CallerAuth = &pushv1alpha1.CallerAuthSpec{ClientCASecretRef: &pushv1alpha1.SecretKeyRef{Name: "ca", Key: "ca.crt"}}
		}, "callerAuth.clientCASecretRef needs tls"},
		{"caller token without key", func(s *pushv1alpha1.PushServiceSpec) {
			s.CallerAuth = &pushv1alpha1.CallerAuthSpec{TokenSecretRef: &pushv1alpha1.SecretKeyRef{Name: "t"}}
		}, "spec.callerAuth.tokenSecretRef.key in body should be at least 1 chars long"},
		{"zero throttle", func(s *pushv1alpha1.PushServiceSpec) {
			s.Throttle = &pushv1alpha1.ThrottleSpec{PerSecond: ptr.To[int32](0)}
		}, "spec.throttle.perSecond: Invalid value: 0: spec.throttle.perSecond in body should be greater than or equal to 1"},
		{"per-try timeout longer than the send", func(s *pushv1alpha1.PushServiceSpec) {
			s.Timeouts = &pushv1alpha1.TimeoutsSpec{PerTry: "40s", Send: "30s"}
		}, "timeouts.perTry must not be longer than timeouts.send"},
		{"timeout that is not a duration", func(s *pushv1alpha1.PushServiceSpec) {
			s.Timeouts = &pushv1alpha1.TimeoutsSpec{Send: "thirty seconds"}
		}, "spec.timeouts.send: Invalid value"},
		{"replicas and autoscaling", func(s *pushv1alpha1.PushServiceSpec) {
			s.Replicas = ptr.To[int32](2)
			s.Autoscaling = &pushv1alpha1.AutoscalingSpec{MaxReplicas: 4}
		}, "set either replicas or autoscaling, not both"},
		{"autoscaling min above max", func(s *pushv1alpha1.PushServiceSpec) {
			s.Autoscaling = &pushv1alpha1.AutoscalingSpec{MinReplicas: ptr.To[int32](5), MaxReplicas: 3}
		}, "autoscaling.minReplicas must not exceed autoscaling.maxReplicas"},
		{"CPU target above 100%", func(s *pushv1alpha1.PushServiceSpec) {
			s.Autoscaling = &pushv1alpha1.AutoscalingSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: 150}
		}, "spec.autoscaling.targetCPUUtilizationPercentage: Invalid value: 150"},
		{"negative replicas", func(s *pushv1alpha1.PushServiceSpec) { s.Replicas = ptr.To[int32](-1) },
			"spec.replicas: Invalid value: -1"},
		{"unknown log level", func(s *pushv1alpha1.PushServiceSpec) { s.LogLevel = "verbose" },
			`spec.logLevel: Unsupported value: "verbose"`},
		{"unknown pull policy", func(s *pushv1alpha1.PushServiceSpec) { s.ImagePullPolicy = corev1.PullPolicy("Sometimes") },
			`spec.imagePullPolicy: Unsupported value: "Sometimes"`},
		{"ingress without certificate source", func(s *pushv1alpha1.PushServiceSpec) {
			s.Ingress = &pushv1alpha1.IngressSpec{Host: "push.example.com"}
		}, "ingress.tls needs exactly one of secretName (an existing certificate) or issuerRef"},
		{"ingress wildcard host", func(s *pushv1alpha1.PushServiceSpec) {
			s.Ingress = &pushv1alpha1.IngressSpec{Host: "*.example.com", TLS: pushv1alpha1.IngressTLS{SecretName: "t"}}
		}, "spec.ingress.host: Invalid value"},
		{"issuer of an unknown kind", func(s *pushv1alpha1.PushServiceSpec) {
			s.Ingress = &pushv1alpha1.IngressSpec{Host: "push.example.com",
				TLS: pushv1alpha1.IngressTLS{IssuerRef: &pushv1alpha1.IngressIssuerRef{Name: "x", Kind: "Vault"}}}
		}, `spec.ingress.tls.issuerRef.kind: Unsupported value: "Vault"`},
		{"allowed namespace that is not a name", func(s *pushv1alpha1.PushServiceSpec) {
			s.NetworkPolicy = &pushv1alpha1.NetworkPolicySpec{AllowedNamespaces: []string{"Chat Server"}}
		}, "spec.networkPolicy.allowedNamespaces[0]: Invalid value"},
		{"unknown TLS version", func(s *pushv1alpha1.PushServiceSpec) {
			s.TLS = &pushv1alpha1.RelayTLSSpec{SecretName: "tls", MinVersion: "1.0"}
		}, `spec.tls.minVersion: Unsupported value: "1.0"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := &pushv1alpha1.PushService{
				ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
				Spec: pushv1alpha1.PushServiceSpec{Apps: []pushv1alpha1.PushApp{
					{Platform: "apple_rn", APNs: apns()}, {Platform: "android_rn", FCM: fcm()},
				}},
			}
			tc.mutate(&ps.Spec)
			err := k8sClient.Create(context.Background(), ps)
			if !apierrors.IsInvalid(err) {
				if err == nil {
					_ = k8sClient.Delete(context.Background(), ps)
				}
				t.Fatalf("create: got %v, want the API server to refuse it", err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error\n  %s\ndoes not say\n  %s", err.Error(), tc.message)
			}
		})
	}
}
