package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The chart and config/default install the same operator: a release called push-operator
// in push-operator-system renders the objects kustomize does, under the same names, with
// the same rules, ports and pod settings. Labels and the image differ by design.
func TestChartAndKustomizeInstallTheSameOperator(t *testing.T) {
	fromKustomize := kustomizeDefaultWithOptionalParts(t)
	fromChart, _ := mustRenderChart(t, map[string]any{
		"serviceMonitor": map[string]any{"enabled": true},
		"networkPolicy":  map[string]any{"enabled": true},
	})
	chartObjs := index(fromChart)
	kustomizeObjs := index(fromKustomize)

	for k, want := range kustomizeObjs {
		if want.GetKind() == "Namespace" {
			continue // Helm installs into a namespace; it does not own it
		}
		got := chartObjs[k]
		if got == nil {
			t.Errorf("config/default renders %s, the chart does not", k)
			continue
		}
		for _, path := range comparedFields(want.GetKind()) {
			w, _, _ := unstructured.NestedFieldNoCopy(want.Object, path...)
			g, _, _ := unstructured.NestedFieldNoCopy(got.Object, path...)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s %v differs between config/default and the chart (-kustomize +chart):\n%s", k, path, diff)
			}
		}
		if want.GetKind() == "Deployment" {
			compareManagerPods(t, want, got)
		}
	}
	for k := range chartObjs {
		if kustomizeObjs[k] == nil {
			t.Errorf("the chart renders %s, config/default does not", k)
		}
	}
}

// comparedFields lists, per kind, the fields that must agree between the two paths.
func comparedFields(kind string) [][]string {
	switch kind {
	case "CustomResourceDefinition":
		return [][]string{{"spec"}}
	case "ClusterRole", "Role":
		return [][]string{{"rules"}}
	case "ClusterRoleBinding", "RoleBinding":
		return [][]string{{"roleRef"}, {"subjects"}}
	case "Service":
		return [][]string{{"spec", "ports"}, {"spec", "type"}}
	case "ServiceMonitor":
		return [][]string{{"spec", "endpoints"}}
	case "NetworkPolicy":
		return [][]string{{"spec", "ingress"}, {"spec", "policyTypes"}}
	case "Deployment":
		return [][]string{{"spec", "replicas"}}
	}
	return nil
}

// compareManagerPods compares the pod templates with labels and the images set aside.
func compareManagerPods(t *testing.T, fromKustomize, fromChart *unstructured.Unstructured) {
	t.Helper()
	var want, got appsv1.Deployment
	convert(t, fromKustomize, &want)
	convert(t, fromChart, &got)
	normalize := func(spec *corev1.PodSpec) {
		for i := range spec.Containers {
			c := &spec.Containers[i]
			c.Image, c.ImagePullPolicy = "", ""
			// config/default leaves the relay image to the manager's built-in default.
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--relay-image=") })
		}
	}
	w, g := want.Spec.Template.Spec.DeepCopy(), got.Spec.Template.Spec.DeepCopy()
	normalize(w)
	normalize(g)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("the manager's pod spec differs (-kustomize +chart):\n%s", diff)
	}
	if diff := cmp.Diff(want.Spec.Template.Annotations, got.Spec.Template.Annotations); diff != "" {
		t.Errorf("the manager's pod annotations differ (-kustomize +chart):\n%s", diff)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readDir returns the contents of the YAML files in dir by file name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]string, len(paths))
	for _, p := range paths {
		files[filepath.Base(p)] = readFile(t, p)
	}
	return files
}
