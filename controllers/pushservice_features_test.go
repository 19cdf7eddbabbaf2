package controllers

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
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
	if got := getPS(t, ps).Status.LogLevel; got != pushv1alpha1.LogLevelError {
		t.Errorf("status.logLevel = %q after debugUntil, want error", got)
	}
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
		crd := filepath.Join(testenv.RepoRoot(), "controllers", "testdata", "pushservice", "monitoring.coreos.com_servicemonitors.yaml")
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
