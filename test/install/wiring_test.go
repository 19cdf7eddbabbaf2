package install

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// checkMetricsWiring follows the path a scrape takes — ServiceMonitor → Service → pod's
// metrics port → NetworkPolicy — and fails where a selector or port does not line up.
// monitor and policy may be nil when that part is not rendered.
func checkMetricsWiring(t *testing.T, deployment, service, monitor, policy *unstructured.Unstructured) {
	t.Helper()
	var dep appsv1.Deployment
	var svc corev1.Service
	convert(t, deployment, &dep)
	convert(t, service, &svc)
	podLabels := labels.Set(dep.Spec.Template.Labels)
	manager := managerContainer(t, &dep)

	metricsPort := containerPort(manager, "metrics")
	if metricsPort == 0 {
		t.Fatalf("the manager container has no port named metrics: %v", manager.Ports)
	}
	if arg := fmt.Sprintf("--metrics-bind-address=:%d", metricsPort); !slices.Contains(manager.Args, arg) {
		t.Errorf("the manager's args %v lack %s", manager.Args, arg)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("metrics Service selector %v does not select the manager's pods %v", svc.Spec.Selector, podLabels)
	}

	if monitor != nil {
		selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
		if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the metrics Service %v", selector, svc.Labels)
		}
		endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
		if len(endpoints) != 1 {
			t.Fatalf("ServiceMonitor has %d endpoints, want 1", len(endpoints))
		}
		ep := endpoints[0].(map[string]any)
		if ep["scheme"] != "https" {
			t.Errorf("ServiceMonitor scrapes with scheme %v, but the manager serves metrics over HTTPS", ep["scheme"])
		}
		port := servicePort(&svc, fmt.Sprint(ep["port"]))
		if port == nil {
			t.Errorf("ServiceMonitor scrapes port %v, which the metrics Service does not have", ep["port"])
		} else if port.TargetPort.String() != "metrics" && port.TargetPort.IntValue() != int(metricsPort) {
			t.Errorf("metrics Service port %s targets %s, not the manager's metrics port", port.Name, port.TargetPort.String())
		}
	}

	if policy != nil {
		var np networkingv1.NetworkPolicy
		convert(t, policy, &np)
		if !labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels).Matches(podLabels) {
			t.Errorf("NetworkPolicy podSelector %v does not select the manager's pods %v", np.Spec.PodSelector.MatchLabels, podLabels)
		}
		if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != int(metricsPort) {
			t.Errorf("NetworkPolicy should let in exactly the metrics port %d: %+v", metricsPort, np.Spec.Ingress)
		}
	}
}

func convert(t *testing.T, obj *unstructured.Unstructured, into any) {
	t.Helper()
	if obj == nil {
		t.Fatalf("missing object for %T", into)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		t.Fatalf("converting %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
}

func managerContainer(t *testing.T, dep *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i := range dep.Spec.Template.Spec.Containers {
		if c := &dep.Spec.Template.Spec.Containers[i]; c.Name == "manager" {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container named manager", dep.Name)
	return nil
}

func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func servicePort(svc *corev1.Service, name string) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == name {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// flagNames returns the flag names in args ("--leader-elect", "--zap-log-level=info" →
// leader-elect, zap-log-level).
func flagNames(args []string) []string {
	var names []string
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			names = append(names, name)
		}
	}
	return names
}
