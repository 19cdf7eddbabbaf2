package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Every flag the chart and config/default pass to the manager must be one the manager
// binary defines, or the pod crash-loops on "flag provided but not defined".
func TestManagerDefinesEveryFlagTheInstallPathsPass(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "manager")
	// Built as `make images` builds it (hack/images' test too), so the three share the
	// build cache.
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/manager")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/manager: %v\n%s", err, out)
	}
	// -help exits 0 after printing the usage, which lists every flag as "  -name".
	usage, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("manager --help: %v\n%s", err, usage)
	}

	chartObjs, _ := mustRenderChart(t, nonDefaultValues())
	for source, deployment := range map[string]*unstructured.Unstructured{
		"config/default": index(kustomizeDefault(t))[key("Deployment", kustomizeNamespace, "push-operator-controller-manager")],
		"the chart":      index(chartObjs)[key("Deployment", releaseNamespace, "push-operator-controller-manager")],
	} {
		var dep appsv1.Deployment
		convert(t, deployment, &dep)
		args := managerContainer(t, &dep).Args
		names := flagNames(args)
		if len(names) == 0 {
			t.Errorf("%s passes the manager no flags: %v", source, args)
		}
		for _, name := range names {
			if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).Match(usage) {
				t.Errorf("%s passes --%s, which the manager does not define", source, name)
			}
		}
	}
}
