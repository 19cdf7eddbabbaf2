package resilience

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// convergedTenant starts a tenant and waits for it.
func convergedTenant(t *testing.T) string {
	t.Helper()
	ns := newTenantNamespace(t)
	createResources(t, ns)
	eventually(t, func() error { return converged(ns) })
	return ns
}

// reconciles is controller-runtime's count of a controller's reconciles in this process.
func reconciles(t *testing.T, controller string) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == controller {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func TestAnotherWriterKeepsItsFieldsAndTheOperatorKeepsItsOwn(t *testing.T) {
	m := startManager(t, nil)
	ns := convergedTenant(t)
	key := client.ObjectKey{Namespace: ns, Name: pushName}
	var d appsv1.Deployment
	if err := k8sClient.Get(ctx, key, &d); err != nil {
		t.Fatal(err)
	}
	image := d.Spec.Template.Spec.Containers[0].Image

	// A platform team's tool (its own field manager) adds a label, an annotation and an
	// environment variable the operator does not set, and changes the image, which the
	// operator does set.
	theirs := func(image string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{
				"name": pushName, "namespace": ns,
				"labels":      map[string]any{"team.example.com/cost-center": "chat"},
				"annotations": map[string]any{"team.example.com/owner": "chat-platform"},
			},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{
					"name": "relay", "image": image,
					"env": []any{map[string]any{"name": "TEAM_TRACE", "value": "1"}},
				}},
			}}},
		}}
		return u
	}
	if err := k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(theirs("example.com/patched-relay:dev")),
		client.FieldOwner("platform-team"), client.ForceOwnership); err != nil {
		t.Fatalf("the other writer's apply: %v", err)
	}

	eventually(t, func() error {
		if err := k8sClient.Get(ctx, key, &d); err != nil {
			return err
		}
		c := d.Spec.Template.Spec.Containers[0]
		switch {
		case c.Image != image:
			return fmt.Errorf("image %q, want the operator's %q restored", c.Image, image)
		case d.Labels["team.example.com/cost-center"] != "chat" || d.Annotations["team.example.com/owner"] != "chat-platform":
			return fmt.Errorf("the other writer's label or annotation is gone: %v %v", d.Labels, d.Annotations)
		case !hasEnv(c, "TEAM_TRACE"):
			return fmt.Errorf("the other writer's env var is gone: %v", c.Env)
		}
		return nil
	})

	// No fight: once restored, a reconcile leaves the Deployment as it is.
	generation := d.Generation
	before, writes := reconciles(t, "pushservice"), m.writes.Load()
	touchSecret(t, ns, "apns")
	eventually(t, func() error {
		if n := reconciles(t, "pushservice"); n < before+1 {
			return fmt.Errorf("no reconcile since the Secret changed")
		}
		return nil
	})
	if err := k8sClient.Get(ctx, key, &d); err != nil {
		t.Fatal(err)
	}
	if d.Generation != generation || !hasEnv(d.Spec.Template.Spec.Containers[0], "TEAM_TRACE") {
		t.Errorf("the Deployment changed again (generation %d → %d, env %v)", generation, d.Generation, d.Spec.Template.Spec.Containers[0].Env)
	}
	if n := m.writes.Load() - writes; n != 0 {
		t.Errorf("the operator wrote %d times after the conflict settled, want 0", n)
	}

	// The MobileProxy's Ingress: another writer's label stays, its edit of a rule is undone.
	ingKey := client.ObjectKey{Namespace: ns, Name: proxyName}
	var ing networkingv1.Ingress
	if err := k8sClient.Get(ctx, ingKey, &ing); err != nil {
		t.Fatal(err)
	}
	ing.Labels["team.example.com/cost-center"] = "chat"
	ing.Spec.Rules[0].Host = "hijacked.example.com"
	if err := k8sClient.Update(ctx, &ing); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if err := k8sClient.Get(ctx, ingKey, &ing); err != nil {
			return err
		}
		if h := ing.Spec.Rules[0].Host; h != chatHost {
			return fmt.Errorf("Ingress host %q, want %q restored", h, chatHost)
		}
		if ing.Labels["team.example.com/cost-center"] != "chat" {
			return fmt.Errorf("the other writer's label is gone: %v", ing.Labels)
		}
		return nil
	})
}

func hasEnv(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}

// touchSecret changes a Secret's metadata, which wakes the resources that reference it.
func touchSecret(t *testing.T, ns, name string) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"test.pushops.dev/touched":"`+metav1.Now().String()+`"}}}`))
	if err := k8sClient.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch); err != nil {
		t.Fatal(err)
	}
}

func TestADeletedSecretIsReportedAndItsReturnRecovers(t *testing.T) {
	startManager(t, nil)
	ns := convergedTenant(t)

	if err := k8sClient.Delete(ctx, apnsSecret(ns)); err != nil {
		t.Fatal(err)
	}
	eventually(t, conditionIs(ns, "PushService", pushv1alpha1.ConditionCredentialsValid, metav1.ConditionFalse, pushv1alpha1.ReasonCredentialSecretNotFound))
	// The running relay is left as it was.
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushName}, &appsv1.Deployment{}); err != nil {
		t.Errorf("the relay Deployment is gone while the Secret is missing: %v", err)
	}
	mustCreate(t, apnsSecret(ns))
	eventually(t, conditionIs(ns, "PushService", pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded))

	if err := k8sClient.Delete(ctx, tlsSecret(ns)); err != nil {
		t.Fatal(err)
	}
	eventually(t, conditionIs(ns, "MobileProxy", pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionFalse, pushv1alpha1.ReasonSecretNotFound))
	mustCreate(t, tlsSecret(ns))
	eventually(t, conditionIs(ns, "MobileProxy", pushv1alpha1.MobileProxyCertificateValid, metav1.ConditionTrue, pushv1alpha1.ReasonCertificateAccepted))
	eventually(t, func() error { return converged(ns) })
}

// The test API server runs no controllers, so the namespace controller's part is played
// here: once the namespace is terminating, its content is deleted — children first, the
// worst order for the operator, which then finds its objects gone and cannot create new
// ones — and the namespace is finalized.
func TestANamespaceDeletedWithResourcesInItGoesAway(t *testing.T) {
	m := startManager(t, nil)
	doomed := convergedTenant(t)
	other := convergedTenant(t)

	if err := k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: doomed}}); err != nil {
		t.Fatal(err)
	}
	for _, list := range []client.ObjectList{
		&appsv1.DeploymentList{}, &corev1.ServiceList{}, &corev1.ConfigMapList{}, &networkingv1.IngressList{},
		&corev1.SecretList{}, &pushv1alpha1.PushServiceList{}, &pushv1alpha1.MobileProxyList{},
	} {
		deleteAll(t, doomed, list)
	}
	clientset := kubernetes.NewForConfigOrDie(cfg)
	var ns corev1.Namespace
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: doomed}, &ns); err != nil {
		t.Fatal(err)
	}
	ns.Spec.Finalizers = nil
	if _, err := clientset.CoreV1().Namespaces().Finalize(ctx, &ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalizing the namespace: %v", err)
	}
	eventually(t, func() error {
		err := k8sClient.Get(ctx, client.ObjectKey{Name: doomed}, &corev1.Namespace{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace still there (%v)", err)
		}
		return nil
	})

	// The operator carries on with everyone else.
	m.running(t)
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: proxyName}}
	if err := k8sClient.Delete(ctx, ing); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error { return converged(other) })
}

// deleteAll deletes every object of a kind in ns, one by one (Services have no
// deletecollection).
func deleteAll(t *testing.T, ns string, list client.ObjectList) {
	t.Helper()
	if err := k8sClient.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	items, err := itemsOf(list)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range items {
		if err := k8sClient.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			t.Fatalf("deleting %T %s: %v", o, o.GetName(), err)
		}
	}
}

func TestDeletingResourcesNeverWaitsForTheOperator(t *testing.T) {
	m := startManager(t, nil)
	running := convergedTenant(t)
	stopped := convergedTenant(t)

	for _, ns := range []string{running, stopped} {
		var ps pushv1alpha1.PushService
		var mp pushv1alpha1.MobileProxy
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushName}, &ps); err != nil {
			t.Fatal(err)
		}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: proxyName}, &mp); err != nil {
			t.Fatal(err)
		}
		if len(ps.Finalizers)+len(mp.Finalizers) != 0 {
			t.Errorf("finalizers %v %v: nothing outside the cluster needs cleaning up, so none should be set", ps.Finalizers, mp.Finalizers)
		}
	}

	deleteResources := func(ns string) {
		t.Helper()
		for _, o := range []client.Object{
			&pushv1alpha1.PushService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pushName}},
			&pushv1alpha1.MobileProxy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: proxyName}},
		} {
			if err := k8sClient.Delete(ctx, o); err != nil {
				t.Fatal(err)
			}
			eventually(t, func() error {
				if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o); !apierrors.IsNotFound(err) {
					return fmt.Errorf("%T still there (%v, finalizers %v)", o, err, o.GetFinalizers())
				}
				return nil
			})
		}
	}
	deleteResources(running)
	// Even with no operator running at all.
	m.stop(t)
	deleteResources(stopped)
}
