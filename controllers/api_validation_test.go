package controllers

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

func TestPushServiceIsStoredWithDefaults(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ps := &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns},
		Spec: pushv1alpha1.PushServiceSpec{Apps: []pushv1alpha1.PushApp{{Platform: "android_rn", FCM: &pushv1alpha1.FCMApp{
			ServiceAccountSecretRef: pushv1alpha1.FCMServiceAccountRef{Name: "fcm"},
		}}}},
	}
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatalf("creating a valid PushService: %v", err)
	}
	var got pushv1alpha1.PushService
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &got); err != nil {
		t.Fatalf("reading it back: %v", err)
	}
	if got.Spec.Mode != pushv1alpha1.PushModeDirect {
		t.Errorf("spec.mode = %q, want the default %q", got.Spec.Mode, pushv1alpha1.PushModeDirect)
	}
	if len(got.Spec.Apps) != 1 || got.Spec.Apps[0].FCM.ServiceAccountSecretRef.Key != "service-account.json" {
		t.Errorf("spec.apps = %+v, want the one app written with its default Secret key", got.Spec.Apps)
	}
}

func TestObviouslyInvalidObjectsAreRejected(t *testing.T) {
	ns := newNamespace(t)
	meta := metav1.ObjectMeta{Name: "bad", Namespace: ns}
	cases := []struct {
		name    string
		obj     client.Object
		message string
	}{
		{
			name:    "unknown mode",
			obj:     &pushv1alpha1.PushService{ObjectMeta: meta, Spec: pushv1alpha1.PushServiceSpec{Mode: "carrier-pigeon"}},
			message: `spec.mode: Unsupported value: "carrier-pigeon"`,
		},
		{
			name: "platform with spaces",
			obj: &pushv1alpha1.PushService{ObjectMeta: meta, Spec: pushv1alpha1.PushServiceSpec{
				Apps: []pushv1alpha1.PushApp{{Platform: "Apple RN"}},
			}},
			message: "spec.apps[0].platform",
		},
		{
			name:    "wildcard host",
			obj:     &pushv1alpha1.MobileProxy{ObjectMeta: meta, Spec: pushv1alpha1.MobileProxySpec{Host: "*.example.com"}},
			message: "spec.host",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := k8sClient.Create(context.Background(), tc.obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: got %v, want an Invalid error from the API server", err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err.Error(), tc.message)
			}
		})
	}
}
