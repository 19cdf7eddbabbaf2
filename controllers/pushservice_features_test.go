package controllers

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
	"github.com/pushops/push-operator/internal/credentials/credtest"
	"github.com/pushops/push-operator/internal/testenv"
)

func TestDebugUntilPutsTheLogLevelBackByItself(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pushSecrets(t, ns)
	ps := directPushService(ns)
	ps.Spec.LogLevel = pushv1alpha1.LogLevelError
	ps.Spec.DebugUntil = &metav1.Time{Time: time.Now().Add(3 * time.Second)}
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	configSays := func(level string) func() error {
		return func() error {
			var cm corev1.ConfigMap
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "push-config"}, &cm); err != nil {
				return err
			}
			if !strings.Contains(cm.Data["relay.yaml"], "level: "+level) {
				return errString("relay.yaml does not say level " + level + " yet")
			}
			return nil
		}
	}
	psvcEventually(t, psTimeout, configSays("debug"))
	var d appsv1.Deployment
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &d); err != nil {
		t.Fatal(err)
	}
	debugHash := d.Spec.Template.Annotations[pushservice.ConfigHashAnnotation]
	// Nothing changes the object: the operator's own timer must switch the level back.
	psvcEventually(t, psTimeout, configSays("error"))
	psvcEventually(t, psTimeout, func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ps), &d); err != nil {
			return err
		}
		if d.Spec.Template.Annotations[pushservice.ConfigHashAnnotation] == debugHash {
			return errString("the pods were not rolled onto the quieter config")
		}
		return nil
	})
	psvcEventually(t, psTimeout, func() error {
		if got := getPS(t, ps).Status.LogLevel; got != pushv1alpha1.LogLevelError {
			return errString("status.logLevel is still " + string(got))
		}
		return nil
	})
}

func TestServiceMonitorOnlyWhenPrometheusOperatorIsInstalled(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pushSecrets(t, ns)
	ps := directPushService(ns)
	ps.Spec.Metrics = &pushv1alpha1.MetricsSpec{ServiceMonitor: &pushv1alpha1.ServiceMonitorSpec{
		Enabled: true, Labels: map[string]string{"release": "prometheus"}}}
	sm := &unstructured.Unstructured{}
	sm.SetGroupVersionKind(pushservice.ServiceMonitorGVK)
	key := client.ObjectKey{Namespace: ns, Name: "push"}

	if !serviceMonitorCRDInstalled(ctx) {
		// Without the CRD the PushService still converges; there is just no ServiceMonitor.
		if err := k8sClient.Create(ctx, ps); err != nil {
			t.Fatal(err)
		}
		psvcEventually(t, psTimeout, exists(ctx, key, &appsv1.Deployment{}))
		psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionDegraded, metav1.ConditionFalse, pushv1alpha1.ReasonAsExpected))
		// The Prometheus Operator's own CRD (v0.85.0, copied for the install tests), so its
		// schema judges the ServiceMonitor the operator builds.
		crd := filepath.Join(testenv.RepoRoot(), "test", "install", "testdata", "crds", "monitoring.coreos.com_servicemonitors.yaml")
		if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{crd}, ErrorIfPathMissing: true}); err != nil {
			t.Fatalf("installing the ServiceMonitor CRD: %v", err)
		}
		// The CRD's arrival is not an event the controller watches; a spec change is.
		changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) { s.Metrics.ServiceMonitor.Interval = "30s" })
	} else if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	psvcEventually(t, psTimeout, exists(ctx, key, sm))
	if sm.GetLabels()["release"] != "prometheus" || !metav1.IsControlledBy(sm, getPS(t, ps)) {
		t.Errorf("ServiceMonitor labels %v, owners %v", sm.GetLabels(), sm.GetOwnerReferences())
	}
	// Fields the schema does not know would have been pruned silently: read them back.
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints = %v", endpoints)
	}
	ep := endpoints[0].(map[string]any)
	if ep["port"] != "http" || ep["path"] != "/metrics" || ep["scheme"] != "http" {
		t.Errorf("ServiceMonitor endpoint = %v", ep)
	}
	if sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels"); sel["app.kubernetes.io/instance"] != "push" {
		t.Errorf("ServiceMonitor selector = %v", sel)
	}

	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) { s.Metrics = nil })
	psvcEventually(t, psTimeout, func() error {
		if err := k8sClient.Get(ctx, key, sm.DeepCopy()); err == nil {
			return errString("the ServiceMonitor is still there after metrics.serviceMonitor was removed")
		}
		return nil
	})
}

func serviceMonitorCRDInstalled(ctx context.Context) bool {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(pushservice.ServiceMonitorGVK.GroupVersion().WithKind("ServiceMonitorList"))
	return k8sClient.List(ctx, list) == nil
}

func TestRelayTLSAndCallerAuthCredentials(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	pushSecrets(t, ns)
	cert, key := credtest.SelfSigned("push."+ns+".svc", time.Now().Add(365*24*time.Hour), false)
	ca, _ := credtest.SelfSigned("callers", time.Now().Add(365*24*time.Hour), true)
	tlsSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "push-tls", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": cert, "tls.key": key}}
	if err := k8sClient.Create(ctx, tlsSecret); err != nil {
		t.Fatal(err)
	}
	createSecret(t, ns, "callers", map[string][]byte{"token": []byte("short"), "ca.crt": ca})

	ps := directPushService(ns)
	ps.Spec.TLS = &pushv1alpha1.RelayTLSSpec{SecretName: "push-tls"}
	ps.Spec.CallerAuth = &pushv1alpha1.CallerAuthSpec{
		TokenSecretRef:    &pushv1alpha1.SecretKeyRef{Name: "callers", Key: "token"},
		ClientCASecretRef: &pushv1alpha1.SecretKeyRef{Name: "callers", Key: "ca.crt"},
	}
	if err := k8sClient.Create(ctx, ps); err != nil {
		t.Fatal(err)
	}
	// A guessable token is refused before it protects anything.
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionFalse, pushv1alpha1.ReasonInvalidCredential))
	if msg := findCondition(getPS(t, ps), pushv1alpha1.ConditionCredentialsValid).Message; !strings.Contains(msg, "callerAuth.token") {
		t.Errorf("message %q does not name the token", msg)
	}

	var secret corev1.Secret
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "callers"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["token"] = []byte("a-long-enough-shared-token\n")
	if err := k8sClient.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	psvcEventually(t, psTimeout, conditionIs(ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded))
	got := getPS(t, ps)
	if got.Status.Endpoint != "https://push."+ns+".svc:8066" || len(got.Status.Credentials) != 5 {
		t.Errorf("endpoint %q, credentials %+v", got.Status.Endpoint, got.Status.Credentials)
	}

	var d appsv1.Deployment
	psvcEventually(t, psTimeout, exists(ctx, client.ObjectKeyFromObject(ps), &d))
	mounted := map[string]bool{}
	for _, src := range d.Spec.Template.Spec.Volumes[0].Projected.Sources {
		if src.Secret != nil {
			for _, it := range src.Secret.Items {
				mounted[src.Secret.Name+"/"+it.Key+" -> "+it.Path] = true
			}
		}
	}
	for _, want := range []string{"push-tls/tls.crt -> tls/tls.crt", "push-tls/tls.key -> tls/tls.key",
		"callers/token -> caller/token", "callers/ca.crt -> caller/client-ca.crt"} {
		if !mounted[want] {
			t.Errorf("%s is not mounted (mounted: %v)", want, mounted)
		}
	}
	var cm corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "push-config"}, &cm); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"certFile: /etc/push-relay/tls/tls.crt", "tokenFile: /etc/push-relay/caller/token",
		"clientCAFile: /etc/push-relay/caller/client-ca.crt"} {
		if !strings.Contains(cm.Data["relay.yaml"], want) {
			t.Errorf("relay.yaml lacks %q", want)
		}
	}
}

func TestSecretRotationDoesNotRestartAndOptionalChildrenFollowTheSpec(t *testing.T) {
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
	r, rec := directReconciler()
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil { // sees the children's versions
		t.Fatal(err)
	}
	if err := k8sClient.Get(ctx, key, &before); err != nil {
		t.Fatal(err)
	}
	rec.writes = nil

	// A rotated key is picked up by the relay from the mounted file: no new pods.
	var secret corev1.Secret
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "apns"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["authkey.p8"] = credtest.APNsAuthKey()
	if err := k8sClient.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	// Reconcile with the new key in place and see that nothing needs writing.
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 0 {
		t.Errorf("a valid key rotation wrote %v", rec.writes)
	}
	var after appsv1.Deployment
	if err := k8sClient.Get(ctx, key, &after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Error("rotating a key changed the Deployment, which restarts every relay pod")
	}

	// Autoscaling adds an autoscaler and leaves the replica count to it; removing it
	// removes the autoscaler.
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) {
		s.Autoscaling = &pushv1alpha1.AutoscalingSpec{MinReplicas: ptr.To[int32](3), MaxReplicas: 6}
	})
	psvcEventually(t, psTimeout, exists(ctx, key, hpa))
	if hpa.Spec.MaxReplicas != 6 || *hpa.Spec.MinReplicas != 3 {
		t.Errorf("autoscaler = %+v", hpa.Spec)
	}
	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) {
		s.Autoscaling = nil
		s.Ingress = &pushv1alpha1.IngressSpec{Host: "push.example.com", TLS: pushv1alpha1.IngressTLS{SecretName: "push-cert"}}
	})
	psvcEventually(t, psTimeout, gone(ctx, key, &autoscalingv2.HorizontalPodAutoscaler{}))
	psvcEventually(t, psTimeout, exists(ctx, key, &networkingv1.Ingress{}))
	changeSpec(t, ps, func(s *pushv1alpha1.PushServiceSpec) { s.Ingress = nil })
	psvcEventually(t, psTimeout, gone(ctx, key, &networkingv1.Ingress{}))
	psvcEventually(t, psTimeout, func() error {
		if got := getPS(t, ps).Status.Endpoint; got != "http://push."+ns+".svc:8066" {
			return errString("endpoint is still " + got)
		}
		return nil
	})
}

// gone waits for an object to be deleted.
func gone(ctx context.Context, key client.ObjectKey, obj client.Object) func() error {
	return func() error {
		err := k8sClient.Get(ctx, key, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return errString(fmt.Sprintf("%T %s still exists", obj, key))
	}
}
