package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
	"github.com/pushops/push-operator/relay/config"
)

const psTimeout = 20 * time.Second

// markRolledOut writes the Deployment status a kubelet and Deployment controller would
// (there are none in the test API server): every pod updated and available.
func markRolledOut(t *testing.T, key client.ObjectKey) {
	t.Helper()
	ctx := context.Background()
	psvcEventually(t, psTimeout, func() error {
		var d appsv1.Deployment
		if err := k8sClient.Get(ctx, key, &d); err != nil {
			return err
		}
		n := ptr.Deref(d.Spec.Replicas, 1)
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		}
		return k8sClient.Status().Update(ctx, &d)
	})
}

func TestPushServiceCreatesItsRelay(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pushSecrets(t, ns)
	ps := directPushService(ns)
	ps.Spec.Ingress = &pushv1alpha1.IngressSpec{Host: "push.example.com",
		TLS: pushv1alpha1.IngressTLS{IssuerRef: &pushv1alpha1.IngressIssuerRef{Name: "letsencrypt", Kind: "ClusterIssuer"}}}
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatalf("creating PushService: %v", err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "push"}

	var cm corev1.ConfigMap
	psvcEventually(t, psTimeout, exists(ctx, client.ObjectKey{Namespace: ns, Name: "push-config"}, &cm))
	var cfg config.Config
	if err := yaml.UnmarshalStrict([]byte(cm.Data["relay.yaml"]), &cfg); err != nil {
		t.Fatalf("relay.yaml does not parse as the relay config: %v", err)
	}
	if len(cfg.Apps) != 2 || cfg.Apps[0].APNs.AuthKeyFile != "/etc/push-relay/apps/apple_rn/authkey.p8" ||
		cfg.Apps[1].FCM.ServiceAccountFile != "/etc/push-relay/apps/android_rn/service-account.json" {
		t.Errorf("relay config apps = %+v", cfg.Apps)
	}

	var d appsv1.Deployment
	psvcEventually(t, psTimeout, exists(ctx, key, &d))
	if !metav1.IsControlledBy(&d, getPS(t, ps)) {
		t.Error("Deployment is not controlled by the PushService")
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != pushservice.DefaultRelayImage || d.Spec.Template.Annotations[pushservice.ConfigHashAnnotation] == "" ||
		*d.Spec.Replicas != 2 || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("Deployment: image %q annotations %v replicas %d", c.Image, d.Spec.Template.Annotations, *d.Spec.Replicas)
	}

	var svc corev1.Service
	var ing networkingv1.Ingress
	var pdb policyv1.PodDisruptionBudget
	var np networkingv1.NetworkPolicy
	for _, o := range []client.Object{&svc, &ing, &pdb, &np} {
		psvcEventually(t, psTimeout, exists(ctx, key, o))
	}
	if svc.Spec.Ports[0].Port != 8066 || ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" {
		t.Errorf("Service ports %v, Ingress annotations %v", svc.Spec.Ports, ing.Annotations)
	}

	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded))
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonRollingOut))
	got := getPS(t, ps)
	if got.Status.Endpoint != "https://push.example.com" || got.Status.Endpoints.InCluster != "http://push."+ns+".svc:8066" {
		t.Errorf("endpoints = %q, %+v", got.Status.Endpoint, got.Status.Endpoints)
	}
	if len(got.Status.Credentials) != 2 || !got.Status.Credentials[0].Valid || got.Status.Credentials[1].Kind != pushv1alpha1.CredentialFCMServiceAccount {
		t.Errorf("credential summary = %+v", got.Status.Credentials)
	}

	markRolledOut(t, key)
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonRelayAvailable))
	// A new PushService announces itself once, when the relay serves; the children it
	// created on the way are in its status, not in events.
	waitForEvent(t, ns, pushv1alpha1.ReasonRelayAvailable, "relay pod(s) ready at https://push.example.com")
	if got := eventsAbout(t, ns, "PushService"); !slices.Equal(got, []string{"Normal Available"}) {
		t.Errorf("events about a new PushService = %v, want only Normal Available", got)
	}
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionProgressing, metav1.ConditionFalse, pushv1alpha1.ReasonRolloutComplete))
	if got := getPS(t, ps); got.Status.ReadyReplicas != 2 {
		t.Errorf("readyReplicas = %d, want 2", got.Status.ReadyReplicas)
	}
}

func TestRelayPodIsAdmittedUnderRestrictedPodSecurity(t *testing.T) {
	ctx := context.Background()
	ps := directPushService("any")
	d := pushservice.Deployment(ps, pushservice.DefaultRelayImage, "hash")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restricted-",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if err := k8sClient.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, ns) })

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "relay", Namespace: ns.Name, Labels: d.Spec.Template.Labels},
		Spec: d.Spec.Template.Spec}
	if err := k8sClient.Create(ctx, pod); err != nil {
		t.Fatalf("the API server refused the relay pod under restricted Pod Security: %v", err)
	}
	// The check must be able to fail: the same pod with privilege escalation is refused.
	bad := pod.DeepCopy()
	bad.Name = "relay-escalating"
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	if err := k8sClient.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "allowPrivilegeEscalation") {
		t.Fatalf("a privilege-escalating pod was not refused: %v", err)
	}
}

func TestPushServiceSteadyStateDriftAndNarrowChanges(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pushSecrets(t, ns)
	ps := directPushService(ns)
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "push"}
	psvcEventually(t, psTimeout, exists(ctx, key, &appsv1.Deployment{}))
	markRolledOut(t, key)
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonRelayAvailable))

	children := map[string]client.Object{
		"ConfigMap":     &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "push-config", Namespace: ns}},
		"Deployment":    &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns}},
		"Service":       &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns}},
		"PDB":           &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns}},
		"NetworkPolicy": &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns}},
	}
	versions := func() map[string]string {
		out := map[string]string{}
		for name, o := range children {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				t.Fatalf("reading %s: %v", name, err)
			}
			out[name] = o.GetResourceVersion()
		}
		out["PushService"] = getPS(t, ps).ResourceVersion
		return out
	}

	// Steady state: further reconciles write nothing at all. The first reconcile of a new
	// reconciler re-applies each child once (it has not seen their versions yet).
	r, rec := directReconciler()
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	before := versions()
	if after := versions(); !mapsEqual(before, after) {
		t.Fatalf("the warm-up reconcile changed objects: %v -> %v", before, after)
	}
	rec.writes = nil
	for i := 0; i < 5; i++ {
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatalf("reconcile %d: %v", i, err)
		}
	}
	if len(rec.writes) != 0 {
		t.Errorf("5 reconciles of a converged PushService wrote %d times: %v", len(rec.writes), rec.writes)
	}
	if after := versions(); !mapsEqual(before, after) {
		t.Errorf("resourceVersions changed in steady state:\n before %v\n after  %v", before, after)
	}

	// Drift: a deleted child comes back.
	if err := k8sClient.Delete(ctx, children["Service"]); err != nil {
		t.Fatal(err)
	}
	psvcEventually(t, psTimeout, func() error {
		var svc corev1.Service
		if err := k8sClient.Get(ctx, key, &svc); err != nil {
			return err
		}
		if svc.UID == children["Service"].GetUID() {
			return errString("the old Service is still there")
		}
		return nil
	})

	// Drift: edits to fields the operator owns are put back.
	psvcEventually(t, psTimeout, func() error {
		var d appsv1.Deployment
		if err := k8sClient.Get(ctx, key, &d); err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = "example.com/someone-elses:latest"
		return k8sClient.Update(ctx, &d)
	})
	psvcEventually(t, psTimeout, func() error {
		var d appsv1.Deployment
		if err := k8sClient.Get(ctx, key, &d); err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != pushservice.DefaultRelayImage {
			return errString("the Deployment still runs " + img)
		}
		return nil
	})
	waitForEvent(t, ns, "Restored", "restored Deployment push")
	psvcEventually(t, psTimeout, func() error {
		var cm corev1.ConfigMap
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "push-config"}, &cm); err != nil {
			return err
		}
		cm.Data["relay.yaml"] = "listen: :9999\n"
		return k8sClient.Update(ctx, &cm)
	})
	psvcEventually(t, psTimeout, func() error {
		var cm corev1.ConfigMap
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "push-config"}, &cm); err != nil {
			return err
		}
		if !strings.Contains(cm.Data["relay.yaml"], "listen: :8066") {
			return errString("the edited relay.yaml was not put back")
		}
		return nil
	})
	markRolledOut(t, key)
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonRelayAvailable))

	// A content policy change touches the config (and so the pods), nothing else.
	before = versions()
	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) { s.ContentPolicy = pushv1alpha1.ContentPolicyIDOnly })
	psvcEventually(t, psTimeout, func() error {
		var cm corev1.ConfigMap
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "push-config"}, &cm); err != nil {
			return err
		}
		if !strings.Contains(cm.Data["relay.yaml"], "contentPolicy: id_only") {
			return errString("config not updated yet")
		}
		return nil
	})
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionProgressing, metav1.ConditionTrue, pushv1alpha1.ReasonRollingOut))
	after := versions()
	for name := range children {
		changed := before[name] != after[name]
		want := name == "ConfigMap" || name == "Deployment"
		if changed != want {
			t.Errorf("%s changed = %v after a contentPolicy change, want %v", name, changed, want)
		}
	}

	// A replica change touches the Deployment only.
	markRolledOut(t, key)
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonRelayAvailable))
	before = versions()
	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) { s.Replicas = ptr.To[int32](3) })
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionProgressing, metav1.ConditionTrue, pushv1alpha1.ReasonRollingOut))
	after = versions()
	for name := range children {
		if changed := before[name] != after[name]; changed != (name == "Deployment") {
			t.Errorf("%s changed = %v after a replicas change", name, changed)
		}
	}
}

func TestPushServiceSuspendScalesToZero(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pushSecrets(t, ns)
	ps := directPushService(ns)
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "push"}
	psvcEventually(t, psTimeout, exists(ctx, key, &policyv1.PodDisruptionBudget{}))
	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) { s.Suspend = true })
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonSuspended))
	var d appsv1.Deployment
	if err := k8sClient.Get(ctx, key, &d); err != nil || *d.Spec.Replicas != 0 {
		t.Errorf("suspended Deployment replicas = %v (err %v), want 0", d.Spec.Replicas, err)
	}
	psvcEventually(t, psTimeout, func() error {
		err := k8sClient.Get(ctx, key, &policyv1.PodDisruptionBudget{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return errString("the disruption budget of a suspended relay is still there")
	})
}

func changeSpec(t *testing.T, ps *pushv1alpha1.PushService, mutate func(*pushv1alpha1.PushServiceSpec)) {
	t.Helper()
	psvcEventually(t, psTimeout, func() error {
		cur := getPS(t, ps)
		mutate(&cur.Spec)
		return k8sClient.Update(context.Background(), cur)
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
