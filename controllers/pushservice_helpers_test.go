package controllers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/internal/credentials/credtest"
)

// psvcEventually polls check until it returns nil, failing the test with the last error
// after timeout.
func psvcEventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("condition not reached within %s: %v", timeout, last)
	}
}

// pushSecrets creates the Secrets the standard test PushService references.
func pushSecrets(t *testing.T, ns string) {
	t.Helper()
	createSecret(t, ns, "apns", map[string][]byte{"authkey.p8": credtest.APNsAuthKey()})
	createSecret(t, ns, "fcm", map[string][]byte{"service-account.json": credtest.ServiceAccountJSON("chat-test")})
}

func createSecret(t *testing.T, ns, name string, data map[string][]byte) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
	if err := k8sClient.Create(context.Background(), s); err != nil {
		t.Fatalf("creating Secret %s: %v", name, err)
	}
	return s
}

// directPushService is a direct-mode PushService with an iOS (token auth) and an Android
// app, as a platform engineer would write it.
func directPushService(ns string) *pushv1alpha1.PushService {
	return &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns},
		Spec: pushv1alpha1.PushServiceSpec{
			Apps: []pushv1alpha1.PushApp{
				{Platform: "apple_rn", APNs: &pushv1alpha1.APNsApp{
					Topic: "com.example.chat", KeyID: "ABCDEFGHIJ", TeamID: "TEAM123456",
					AuthKeySecretRef: &pushv1alpha1.APNsAuthKeyRef{Name: "apns"},
				}},
				{Platform: "android_rn", FCM: &pushv1alpha1.FCMApp{
					ServiceAccountSecretRef: pushv1alpha1.FCMServiceAccountRef{Name: "fcm"},
				}},
			},
		},
	}
}

func getPS(t *testing.T, ps *pushv1alpha1.PushService) *pushv1alpha1.PushService {
	t.Helper()
	var got pushv1alpha1.PushService
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(ps), &got); err != nil {
		t.Fatalf("reading PushService: %v", err)
	}
	return &got
}

// conditionIs checks a condition of the PushService as the API server has it, for the
// current generation.
func conditionIs(ps *pushv1alpha1.PushService, condType string, status metav1.ConditionStatus, reason string) func() error {
	return func() error {
		var got pushv1alpha1.PushService
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(ps), &got); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, condType)
		switch {
		case c == nil:
			return fmt.Errorf("no %s condition yet (conditions %v)", condType, got.Status.Conditions)
		case c.ObservedGeneration != got.Generation:
			return fmt.Errorf("%s describes generation %d, spec is at %d", condType, c.ObservedGeneration, got.Generation)
		case c.Status != status || c.Reason != reason:
			return fmt.Errorf("%s = %s/%s (%s), want %s/%s", condType, c.Status, c.Reason, c.Message, status, reason)
		}
		return nil
	}
}

// exists waits for an object to exist and fills obj.
func exists(ctx context.Context, key client.ObjectKey, obj client.Object) func() error {
	return func() error { return k8sClient.Get(ctx, key, obj) }
}

// psWriteRecorder counts every write a reconciler makes through it.
type psWriteRecorder struct {
	client.Client
	mu     sync.Mutex
	writes []string
}

func (c *psWriteRecorder) note(verb string, what any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, fmt.Sprintf("%s %T", verb, what))
}

func (c *psWriteRecorder) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.note("create", obj)
	return c.Client.Create(ctx, obj, opts...)
}
func (c *psWriteRecorder) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.note("update", obj)
	return c.Client.Update(ctx, obj, opts...)
}
func (c *psWriteRecorder) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
	c.note("patch", obj)
	return c.Client.Patch(ctx, obj, p, opts...)
}
func (c *psWriteRecorder) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.note("delete", obj)
	return c.Client.Delete(ctx, obj, opts...)
}
func (c *psWriteRecorder) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	c.note("apply", obj)
	return c.Client.Apply(ctx, obj, opts...)
}
func (c *psWriteRecorder) Status() client.SubResourceWriter {
	c.note("status", nil)
	return c.Client.Status()
}

// directReconciler is a PushServiceReconciler on the test's own (uncached) client, so a
// test can run reconciles itself and see exactly what each one does.
func directReconciler() (*PushServiceReconciler, *psWriteRecorder) {
	rec := &psWriteRecorder{Client: k8sClient}
	return &PushServiceReconciler{Client: rec, Scheme: testScheme, APIReader: k8sClient}, rec
}
