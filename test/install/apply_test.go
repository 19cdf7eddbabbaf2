package install

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const fieldOwner = client.FieldOwner("push-operator-install-test")

// restrictedNamespace enforces the restricted Pod Security Standard; pods built from the
// rendered Deployments are dry-run created there.
const restrictedNamespace = "pod-security-restricted"

// decodeObjects splits a multi-document YAML stream into objects, skipping empty documents.
func decodeObjects(t *testing.T, manifest []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decoding rendered YAML: %v", err)
		}
		if len(obj) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: obj})
		}
	}
}

// applyDryRun applies objs the way `kubectl apply --server-side --dry-run=server` would:
// the API server validates each against its schema (CRDs' OpenAPI and CEL rules included)
// and runs admission, but stores nothing. The namespaces the objects live in are created
// for real first, as a user (or `helm install --create-namespace`) would have.
func applyDryRun(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, obj := range objs {
		if ns := obj.GetNamespace(); ns != "" {
			ensureNamespace(t, ns, nil)
		}
	}
	for _, obj := range objs {
		if err := dryRunApply(ctx, obj); err != nil {
			t.Errorf("server-side dry-run apply of %s %s/%s: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
}

func dryRunApply(ctx context.Context, obj *unstructured.Unstructured) error {
	return k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), fieldOwner, client.ForceOwnership, client.DryRunAll)
}

// ensureNamespace creates a namespace with labels unless it exists.
func ensureNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8sClient.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// checkPodsAdmittedAsRestricted dry-run creates a Pod from every Deployment's pod template
// in a namespace that enforces the restricted Pod Security Standard, so that the API
// server's own admission says whether the pods would run there.
func checkPodsAdmittedAsRestricted(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	ensureNamespace(t, restrictedNamespace, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	deployments := 0
	for _, obj := range objs {
		if obj.GetKind() != "Deployment" {
			continue
		}
		deployments++
		var dep appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &dep); err != nil {
			t.Fatalf("converting Deployment %s: %v", obj.GetName(), err)
		}
		// The ServiceAccount admission plugin wants the pod's ServiceAccount to exist.
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: restrictedNamespace}}
		if err := k8sClient.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating ServiceAccount %s: %v", sa.Name, err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: dep.Name + "-", Namespace: restrictedNamespace, Labels: dep.Spec.Template.Labels},
			Spec:       dep.Spec.Template.Spec,
		}
		if err := k8sClient.Create(ctx, pod, client.DryRunAll); err != nil {
			t.Errorf("a pod of Deployment %s is not admitted under the restricted Pod Security Standard: %v", dep.Name, err)
		}
	}
	if deployments == 0 {
		t.Error("no Deployment among the rendered objects")
	}
}

// index keys rendered objects by kind/namespace/name.
func index(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := make(map[string]*unstructured.Unstructured, len(objs))
	for _, o := range objs {
		m[key(o.GetKind(), o.GetNamespace(), o.GetName())] = o
	}
	return m
}

func key(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// kinds counts rendered objects by kind.
func kinds(objs []*unstructured.Unstructured) map[string]int {
	m := map[string]int{}
	for _, o := range objs {
		m[o.GetKind()]++
	}
	return m
}

// The dry-run apply is only worth something if the API server really checks the objects:
// an unknown field in a ServiceMonitor and an invalid value in a PrometheusRule must fail.
func TestDryRunApplyRejectsInvalidObjects(t *testing.T) {
	ensureNamespace(t, releaseNamespace, nil)
	for name, obj := range map[string]map[string]any{
		"unknown field": {
			"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
			"metadata": map[string]any{"name": "bad", "namespace": releaseNamespace},
			"spec":     map[string]any{"selector": map[string]any{}, "endpoints": []any{map[string]any{"port": "https", "scrapeEvery": "30s"}}},
		},
		"invalid duration": {
			"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
			"metadata": map[string]any{"name": "bad", "namespace": releaseNamespace},
			"spec": map[string]any{"groups": []any{map[string]any{"name": "g", "rules": []any{
				map[string]any{"alert": "A", "expr": "vector(1)", "for": "ten minutes"},
			}}}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := dryRunApply(context.Background(), &unstructured.Unstructured{Object: obj}); err == nil {
				t.Error("the API server accepted an invalid object")
			} else {
				t.Logf("rejected as expected: %v", err)
			}
		})
	}
}
