package install

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pushops/push-operator/controllers/pushservice"
)

const (
	releaseName      = "push-operator"
	releaseNamespace = "push-operator-system"
)

var chartDir = filepath.Join(repoRoot, "charts", "push-operator")

// nonDefaultValues turns on every optional part and changes what users commonly change.
func nonDefaultValues() map[string]any {
	return map[string]any{
		"image":          map[string]any{"repository": "registry.example.com/push/operator", "tag": "1.2.3"},
		"relayImage":     map[string]any{"repository": "registry.example.com/push/relay", "digest": "sha256:" + strings.Repeat("ab", 32)},
		"replicaCount":   2,
		"commonLabels":   map[string]any{"team": "chat"},
		"podAnnotations": map[string]any{"example.com/owner": "chat-team"},
		"nodeSelector":   map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":    []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "chat", "effect": "NoSchedule"}},
		"logLevel":       "debug",
		"extraArgs":      []any{"--zap-encoder=console"},
		"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
		"networkPolicy":  map[string]any{"enabled": true},
		"prometheusRule": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
		"dashboards":     map[string]any{"enabled": true, "namespace": "monitoring"},
	}
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return ch
}

// renderChart renders the chart as `helm template --include-crds` would: Helm's install
// action in client-only dry-run mode, for the test API server's Kubernetes version.
func renderChart(t *testing.T, values map[string]any) (objs []*unstructured.Unstructured, notes string, err error) {
	t.Helper()
	inst := action.NewInstall(&action.Configuration{Log: t.Logf})
	inst.DryRun = true
	inst.ClientOnly = true
	inst.IncludeCRDs = true
	inst.ReleaseName = releaseName
	inst.Namespace = releaseNamespace
	inst.APIVersions = chartutil.VersionSet{"monitoring.coreos.com/v1"}
	if inst.KubeVersion, err = chartutil.ParseKubeVersion(kubeVersion); err != nil {
		t.Fatalf("parsing the API server's version %q: %v", kubeVersion, err)
	}
	rel, err := inst.Run(loadChart(t), values)
	if err != nil {
		return nil, "", err
	}
	return decodeObjects(t, []byte(rel.Manifest)), rel.Info.Notes, nil
}

func mustRenderChart(t *testing.T, values map[string]any) ([]*unstructured.Unstructured, string) {
	t.Helper()
	objs, notes, err := renderChart(t, values)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	return objs, notes
}

func TestChartLintIsClean(t *testing.T) {
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range map[string]map[string]any{"default values": nil, "non-default values": nonDefaultValues()} {
		t.Run(name, func(t *testing.T) {
			result := lint.AllWithKubeVersion(chartDir, values, releaseNamespace, kv)
			for _, msg := range result.Messages {
				if msg.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", msg.Error())
				} else {
					t.Logf("helm lint: %s", msg.Error())
				}
			}
		})
	}
}

func TestChartWithDefaultValuesIsAcceptedByTheAPIServer(t *testing.T) {
	objs, notes := mustRenderChart(t, nil)

	crdFiles, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crdFiles) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	want := map[string]int{
		"CustomResourceDefinition": len(crdFiles), "ServiceAccount": 1,
		"ClusterRole": 3, "ClusterRoleBinding": 2, "Role": 1, "RoleBinding": 1,
		"Deployment": 1, "Service": 1,
	}
	if got := kinds(objs); !equalCounts(got, want) {
		t.Errorf("the chart renders %v with default values, want %v", got, want)
	}
	var dep appsv1.Deployment
	convert(t, index(objs)[key("Deployment", releaseNamespace, "push-operator-controller-manager")], &dep)
	manager := managerContainer(t, &dep)
	if got, want := manager.Image, "ghcr.io/pushops/push-operator:"+loadChart(t).Metadata.AppVersion; got != want {
		t.Errorf("default image %q, want %q (the chart's appVersion)", got, want)
	}
	// A release of the chart runs the relay the manager of the same release would pick.
	if arg := "--relay-image=" + pushservice.DefaultRelayImage; !slices.Contains(manager.Args, arg) {
		t.Errorf("manager args %v lack %s (the manager's built-in default)", manager.Args, arg)
	}
	for _, s := range []string{"status.endpoint", "Manually enter Push Notification Service location", "status.url"} {
		if !strings.Contains(notes, s) {
			t.Errorf("NOTES.txt does not mention %q:\n%s", s, notes)
		}
	}

	applyDryRun(t, objs)
	checkPodsAdmittedAsRestricted(t, objs)
}

func TestChartWithNonDefaultValuesIsAcceptedByTheAPIServer(t *testing.T) {
	objs, _ := mustRenderChart(t, nonDefaultValues())
	byKey := index(objs)

	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" && o.GetLabels()["team"] != "chat" {
			t.Errorf("%s %s lacks the commonLabels label team=chat", o.GetKind(), o.GetName())
		}
	}
	deployment := byKey[key("Deployment", releaseNamespace, "push-operator-controller-manager")]
	var dep appsv1.Deployment
	convert(t, deployment, &dep)
	manager := managerContainer(t, &dep)
	if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *dep.Spec.Replicas)
	}
	if manager.Image != "registry.example.com/push/operator:1.2.3" {
		t.Errorf("image %q, want registry.example.com/push/operator:1.2.3", manager.Image)
	}
	for _, arg := range []string{"--leader-elect", "--zap-log-level=debug", "--zap-encoder=console",
		"--relay-image=registry.example.com/push/relay@sha256:" + strings.Repeat("ab", 32)} {
		if !slices.Contains(manager.Args, arg) {
			t.Errorf("manager args %v lack %s", manager.Args, arg)
		}
	}
	if dep.Spec.Template.Spec.NodeSelector["kubernetes.io/os"] != "linux" || len(dep.Spec.Template.Spec.Tolerations) != 1 {
		t.Errorf("nodeSelector/tolerations not passed to the pods: %v %v", dep.Spec.Template.Spec.NodeSelector, dep.Spec.Template.Spec.Tolerations)
	}
	if dep.Spec.Template.Labels["team"] != "chat" || dep.Spec.Template.Annotations["example.com/owner"] != "chat-team" {
		t.Errorf("pod labels/annotations not passed: %v %v", dep.Spec.Template.Labels, dep.Spec.Template.Annotations)
	}

	monitor := byKey[key("ServiceMonitor", releaseNamespace, "push-operator-controller-manager-metrics-monitor")]
	rule := byKey[key("PrometheusRule", releaseNamespace, "push-operator-relay-alerts")]
	policy := byKey[key("NetworkPolicy", releaseNamespace, "push-operator-allow-metrics-traffic")]
	dashboard := byKey[key("ConfigMap", "monitoring", "push-operator-dashboard-push-relay")]
	if monitor == nil || rule == nil || policy == nil || dashboard == nil {
		t.Fatalf("want a ServiceMonitor, PrometheusRule, NetworkPolicy and dashboard ConfigMap; got %v", kinds(objs))
	}
	for _, o := range []*unstructured.Unstructured{monitor, rule} {
		if o.GetLabels()["release"] != "prometheus" {
			t.Errorf("%s lacks the label release=prometheus that a Prometheus selects it by", o.GetKind())
		}
	}
	if dashboard.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap lacks the Grafana sidecar's label: %v", dashboard.GetLabels())
	}
	data, _, _ := unstructured.NestedStringMap(dashboard.Object, "data")
	if !json.Valid([]byte(data["push-relay.json"])) {
		t.Errorf("dashboard ConfigMap holds no valid push-relay.json")
	}
	checkMetricsWiring(t, deployment, byKey[key("Service", releaseNamespace, "push-operator-controller-manager-metrics-service")], monitor, policy)

	applyDryRun(t, objs)
	checkPodsAdmittedAsRestricted(t, objs)
}

func TestChartRejectsInvalidValues(t *testing.T) {
	for name, values := range map[string]map[string]any{
		"zero replicas":       {"replicaCount": 0},
		"misspelt key":        {"replicas": 2},
		"malformed digest":    {"image": map[string]any{"repository": "r", "digest": "latest"}},
		"ratio above one":     {"prometheusRule": map[string]any{"failureRatio": 5}},
		"unknown log level":   {"logLevel": "verbose"},
		"flag without dashes": {"extraArgs": []any{"zap-devel"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := renderChart(t, values)
			if err == nil || !strings.Contains(err.Error(), "schema") {
				t.Fatalf("values %v: want a values.schema.json error, got %v", values, err)
			}
			t.Logf("rejected as expected: %v", err)
		})
	}
}

// The chart ships the CRDs and the manager's RBAC rules that controller-gen generates into
// config/; `make manifests` copies them. Stale copies fail here (and in `make verify`).
func TestChartCRDsAreTheGeneratedCRDs(t *testing.T) {
	generated := readDir(t, filepath.Join(repoRoot, "config", "crd", "bases"))
	shipped := readDir(t, filepath.Join(chartDir, "crds"))
	if len(generated) == 0 {
		t.Fatal("no CRDs in config/crd/bases")
	}
	for name, data := range generated {
		if got, ok := shipped[name]; !ok {
			t.Errorf("charts/push-operator/crds/%s is missing: run `make manifests`", name)
		} else if got != data {
			t.Errorf("charts/push-operator/crds/%s differs from config/crd/bases/%s: run `make manifests`", name, name)
		}
	}
	for name := range shipped {
		if _, ok := generated[name]; !ok {
			t.Errorf("charts/push-operator/crds/%s has no counterpart in config/crd/bases: run `make manifests`", name)
		}
	}
}

func TestChartManagerRoleIsTheGeneratedRole(t *testing.T) {
	generated := readFile(t, filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	if shipped := readFile(t, filepath.Join(chartDir, "files", "manager-role.yaml")); shipped != generated {
		t.Fatal("charts/push-operator/files/manager-role.yaml differs from config/rbac/role.yaml: run `make manifests`")
	}
	role := decodeObjects(t, []byte(generated))
	objs, _ := mustRenderChart(t, nil)
	rendered := index(objs)[key("ClusterRole", "", "push-operator-manager-role")]
	if len(role) != 1 || rendered == nil {
		t.Fatalf("want one generated ClusterRole and one rendered manager-role; got %d and %v", len(role), rendered)
	}
	if diff := cmp.Diff(role[0].Object["rules"], rendered.Object["rules"]); diff != "" {
		t.Errorf("the chart's manager ClusterRole rules differ from the generated ones (-generated +chart):\n%s", diff)
	}
}
