package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/internal/certcheck/certtest"
)

const mpTimeout = 20 * time.Second

// mpEventually polls check until it returns nil or the timeout passes.
func mpEventually(t *testing.T, check func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, mpTimeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("condition not reached within %s: %v", mpTimeout, last)
	}
}

// mpCondition checks one condition of a MobileProxy; reason "" matches any.
func mpCondition(key client.ObjectKey, typ string, status metav1.ConditionStatus, reason string) func() error {
	return func() error {
		var mp pushv1alpha1.MobileProxy
		if err := k8sClient.Get(context.Background(), key, &mp); err != nil {
			return err
		}
		c := meta.FindStatusCondition(mp.Status.Conditions, typ)
		if c == nil {
			return fmt.Errorf("no %s condition yet", typ)
		}
		if c.Status != status || (reason != "" && c.Reason != reason) || c.ObservedGeneration != mp.Generation {
			return fmt.Errorf("%s is %s/%s (%s) at generation %d, want %s/%s at %d", typ, c.Status, c.Reason, c.Message, c.ObservedGeneration, status, reason, mp.Generation)
		}
		return nil
	}
}

func getProxy(t *testing.T, key client.ObjectKey) *pushv1alpha1.MobileProxy {
	t.Helper()
	var mp pushv1alpha1.MobileProxy
	if err := k8sClient.Get(context.Background(), key, &mp); err != nil {
		t.Fatal(err)
	}
	return &mp
}

// updateProxy changes a MobileProxy's spec, retrying when the controller's status write got
// in between the read and the update.
func updateProxy(t *testing.T, key client.ObjectKey, change func(*pushv1alpha1.MobileProxy)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var mp pushv1alpha1.MobileProxy
		if err := k8sClient.Get(context.Background(), key, &mp); err != nil {
			return err
		}
		change(&mp)
		return k8sClient.Update(context.Background(), &mp)
	})
	if err != nil {
		t.Fatalf("updating MobileProxy %s: %v", key, err)
	}
}

func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func chatService(ns, name string, port int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: port}},
		},
	}
}

func tlsSecret(ns, name string, certPEM, keyPEM []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
}

// testPKI is a private root trusted through a CA bundle ConfigMap, with an intermediate.
type testPKI struct {
	root, inter *certtest.Authority
	bundle      string // ConfigMap name
}

func newTestPKI(t *testing.T, ns string) testPKI {
	t.Helper()
	root := certtest.NewRoot("Push Test Root")
	pki := testPKI{root: root, inter: root.NewIntermediate("Push Test Intermediate"), bundle: "trusted-roots"}
	mustCreate(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: pki.bundle, Namespace: ns}, Data: map[string]string{"ca.crt": string(root.PEM)}})
	return pki
}

// validSecret is a full chain for hosts from the trusted root.
func (p testPKI) validSecret(ns, name string, hosts ...string) *corev1.Secret {
	leaf := p.inter.Issue(hosts, certtest.Options{})
	return tlsSecret(ns, name, certtest.Chain(leaf.CertPEM, p.inter.PEM), leaf.KeyPEM)
}

// reconcileCount is how many times the MobileProxy controller has reconciled successfully,
// from controller-runtime's own metric.
func reconcileCount(t *testing.T) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		var total float64
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["controller"] == "mobileproxy" && labels["result"] != "error" {
				total += m.GetCounter().GetValue()
			}
		}
		return total
	}
	return 0
}

// assertQuietAfter runs poke (which must cause reconciles of the converged proxy) and checks
// that the controller reconciled at least twice more without a single write in ns.
func assertQuietAfter(t *testing.T, ns string, poke func()) {
	t.Helper()
	before, reconciles := writes.in(ns), reconcileCount(t)
	poke()
	mpEventually(t, func() error {
		if n := reconcileCount(t); n < reconciles+2 {
			return fmt.Errorf("%v reconciles since the poke, want at least 2", n-reconciles)
		}
		return nil
	})
	// The poke's own writes go through k8sClient, not the manager: any write counted here
	// came from a controller.
	if after := writes.in(ns); after != before {
		t.Errorf("the controller wrote %d times in steady state, want 0", after-before)
	}
}

// touch adds an annotation through the test client, which wakes the controller's watches.
func touch(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a["test.pushops.dev/touched"] = time.Now().Format(time.RFC3339Nano)
	obj.SetAnnotations(a)
	if err := k8sClient.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
}

// eventRecorded checks for an events.k8s.io Event about the proxy with reason.
func eventRecorded(ns, proxy, reason, eventType string) func() error {
	return func() error {
		var list eventsv1.EventList
		if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Regarding.Name == proxy && e.Reason == reason && e.Type == eventType {
				return nil
			}
		}
		return fmt.Errorf("no %s event %q about %s among %d events", eventType, reason, proxy, len(list.Items))
	}
}
