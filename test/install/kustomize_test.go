package install

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const kustomizeNamespace = "push-operator-system"

// kustomize runs krusty, the library behind `kubectl kustomize`, on dir.
func kustomize(t *testing.T, fsys filesys.FileSystem, dir string) []*unstructured.Unstructured {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: rendering YAML: %v", dir, err)
	}
	return decodeObjects(t, out)
}

func kustomizeDefault(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	return kustomize(t, filesys.MakeFsOnDisk(), filepath.Join(repoRoot, "config", "default"))
}

// kustomizeDefaultWithOptionalParts renders config/default after uncommenting its
// optional parts, exactly as the comments there tell a user to.
func kustomizeDefaultWithOptionalParts(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	memfs := copyToMemFS(t, filepath.Join(repoRoot, "config"), "/config")
	path := "/config/default/kustomization.yaml"
	data, err := memfs.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, part := range []string{"../prometheus", "../network-policy"} {
		if !strings.Contains(text, "#- "+part+"\n") {
			t.Fatalf("config/default/kustomization.yaml has no commented-out %q to enable", part)
		}
		text = strings.Replace(text, "#- "+part+"\n", "- "+part+"\n", 1)
	}
	if err := memfs.WriteFile(path, []byte(text)); err != nil {
		t.Fatal(err)
	}
	return kustomize(t, memfs, "/config/default")
}

func copyToMemFS(t *testing.T, from, to string) filesys.FileSystem {
	t.Helper()
	memfs := filesys.MakeFsInMemory()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return memfs.WriteFile(filepath.Join(to, rel), data)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", from, err)
	}
	return memfs
}

func TestKustomizeDefaultIsAcceptedByTheAPIServer(t *testing.T) {
	objs := kustomizeDefault(t)

	crdFiles, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crdFiles) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	want := map[string]int{
		"CustomResourceDefinition": len(crdFiles), "Namespace": 1, "ServiceAccount": 1,
		"ClusterRole": 3, "ClusterRoleBinding": 2, "Role": 1, "RoleBinding": 1,
		"Deployment": 1, "Service": 1,
	}
	if got := kinds(objs); !equalCounts(got, want) {
		t.Errorf("config/default renders %v, want %v", got, want)
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			continue
		}
		if !strings.HasPrefix(o.GetName(), "push-operator-") {
			t.Errorf("%s %s lacks the push-operator- name prefix", o.GetKind(), o.GetName())
		}
		if ns := o.GetNamespace(); ns != "" && ns != kustomizeNamespace {
			t.Errorf("%s %s is in namespace %q, want %q", o.GetKind(), o.GetName(), ns, kustomizeNamespace)
		}
	}
	ns := index(objs)[key("Namespace", "", kustomizeNamespace)]
	if ns == nil {
		t.Fatalf("config/default does not create namespace %s", kustomizeNamespace)
	}
	if got := ns.GetLabels()["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("namespace %s enforces Pod Security %q, want restricted", kustomizeNamespace, got)
	}

	applyDryRun(t, objs)
	checkPodsAdmittedAsRestricted(t, objs)
}

func TestKustomizeOptionalPartsAreAcceptedByTheAPIServer(t *testing.T) {
	objs := kustomizeDefaultWithOptionalParts(t)
	byKey := index(objs)

	monitor := byKey[key("ServiceMonitor", kustomizeNamespace, "push-operator-controller-manager-metrics-monitor")]
	policy := byKey[key("NetworkPolicy", kustomizeNamespace, "push-operator-allow-metrics-traffic")]
	service := byKey[key("Service", kustomizeNamespace, "push-operator-controller-manager-metrics-service")]
	deployment := byKey[key("Deployment", kustomizeNamespace, "push-operator-controller-manager")]
	if monitor == nil || policy == nil || service == nil || deployment == nil {
		t.Fatalf("want the ServiceMonitor, NetworkPolicy, metrics Service and Deployment; got %v", kinds(objs))
	}
	checkMetricsWiring(t, deployment, service, monitor, policy)

	applyDryRun(t, objs)
}

func equalCounts(a, b map[string]int) bool {
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
