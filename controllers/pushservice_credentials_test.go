package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/internal/credentials/credtest"
)

func TestMissingSecretWaitsWithoutHotLoopThenConverges(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createSecret(t, ns, "apns", map[string][]byte{"authkey.p8": credtest.APNsAuthKey()})
	ps := directPushService(ns) // references Secret "fcm", which does not exist yet
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(ps)
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionFalse, pushv1alpha1.ReasonCredentialSecretNotFound))
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonCredentialsInvalid))
	got := getPS(t, ps)
	if msg := findCondition(got, pushv1alpha1.ConditionCredentialsValid).Message; msg != `apps[android_rn]: Secret "fcm" not found` {
		t.Errorf("message = %q", msg)
	}
	if err := k8sClient.Get(ctx, key, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("a relay was deployed without its credentials (get: %v)", err)
	}

	// The retry is bounded and not an error (which would back off from milliseconds).
	r, rec := directReconciler()
	res, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key})
	if err != nil || res.RequeueAfter != credentialRetry {
		t.Errorf("reconcile = %+v, %v; want a plain requeue after %s", res, err, credentialRetry)
	}
	if len(rec.writes) != 0 {
		t.Errorf("waiting for a Secret wrote %v", rec.writes)
	}

	// The Secret watch brings the PushService up without waiting for the retry.
	createSecret(t, ns, "fcm", map[string][]byte{"service-account.json": credtest.ServiceAccountJSON("p")})
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded))
	psvcEventually(t, psTimeout, exists(ctx, key, &appsv1.Deployment{}))
}

func TestWrongKeyLeavesTheRunningRelayUntouched(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pushSecrets(t, ns)
	ps := directPushService(ns)
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(ps)
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded))
	var before appsv1.Deployment
	psvcEventually(t, psTimeout, exists(ctx, key, &before))

	// Someone pastes the FCM JSON into the APNs key, and changes the spec in the same go.
	var secret corev1.Secret
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "apns"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["authkey.p8"] = credtest.ServiceAccountJSON("oops")
	if err := k8sClient.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionFalse, pushv1alpha1.ReasonInvalidCredential))
	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) { s.ContentPolicy = pushv1alpha1.ContentPolicyGeneric })
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionFalse, pushv1alpha1.ReasonInvalidCredential))

	msg := findCondition(getPS(t, ps), pushv1alpha1.ConditionCredentialsValid).Message
	if !strings.Contains(msg, `apps[apple_rn]: Secret "apns" key "authkey.p8"`) || !strings.Contains(msg, ".p8") {
		t.Errorf("message %q does not say which credential is wrong and why", msg)
	}
	var after appsv1.Deployment
	if err := k8sClient.Get(ctx, key, &after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Error("the Deployment was changed although the credentials are invalid")
	}
	waitForEvent(t, ns, pushv1alpha1.ReasonInvalidCredential, "the running relay is left unchanged")

	// Fixing the key rolls out the held-back change.
	secret.Data["authkey.p8"] = credtest.APNsAuthKey()
	if err := k8sClient.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	psvcEventually(t, psTimeout, func() error {
		var d appsv1.Deployment
		if err := k8sClient.Get(ctx, key, &d); err != nil {
			return err
		}
		if d.ResourceVersion == before.ResourceVersion {
			return errString("the held-back config change has not rolled out")
		}
		return nil
	})
}

func TestCertificateExpiryIsReportedAndWarned(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	notAfter := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
	createSecret(t, ns, "apns-cert", map[string][]byte{
		"cert.pem": credtest.CertificatePEM("Apple Push Services: com.example.chat", notAfter),
		"password": nil,
	})
	ps := &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns},
		Spec: pushv1alpha1.PushServiceSpec{Apps: []pushv1alpha1.PushApp{{Platform: "apple", APNs: &pushv1alpha1.APNsApp{
			Topic:                "com.example.chat",
			CertificateSecretRef: &pushv1alpha1.APNsCertificateRef{Name: "apns-cert", Key: "cert.pem", PasswordKey: "password"},
		}}}},
	}
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded))
	c := getPS(t, ps).Status.Credentials[0]
	if c.Kind != pushv1alpha1.CredentialAPNsCertificate || c.NotAfter == nil || !c.NotAfter.Time.Equal(notAfter) || !c.ExpiringSoon {
		t.Errorf("credential status = %+v, want the certificate's notAfter %s and expiringSoon", c, notAfter)
	}
	waitForEvent(t, ns, pushv1alpha1.ReasonCertificateExpiresSoon, "apps[apple]")
}

func findCondition(ps *pushv1alpha1.PushService, condType string) metav1.Condition {
	for _, c := range ps.Status.Conditions {
		if c.Type == condType {
			return c
		}
	}
	return metav1.Condition{}
}

// waitForEvent waits for an event about a PushService with reason whose note mentions text.
func waitForEvent(t *testing.T, ns, reason, text string) {
	t.Helper()
	psvcEventually(t, psTimeout, func() error {
		var list eventsv1.EventList
		if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Reason == reason && e.Regarding.Kind == "PushService" && strings.Contains(e.Note, text) {
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Note)
		}
		return fmt.Errorf("no %s event mentioning %q among %v", reason, text, seen)
	})
}

// eventsAbout lists "type reason" of every event in ns about an object of kind, oldest first.
func eventsAbout(t *testing.T, ns, kind string) []string {
	t.Helper()
	var list eventsv1.EventList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(list.Items, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == kind {
			out = append(out, e.Type+" "+e.Reason)
		}
	}
	return out
}
