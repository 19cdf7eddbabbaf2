package install

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pushops/push-operator/internal/testenv"
)

// One API server for the package: this repository's CRDs plus the Prometheus Operator's
// ServiceMonitor and PrometheusRule CRDs (testdata/crds) that the optional parts use.
var (
	apiServer   *rest.Config
	k8sClient   client.Client
	kubeVersion string
	repoRoot    = testenv.RepoRoot()
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env := testenv.New(filepath.Join("test", "install", "testdata", "crds"))
	cfg, err := testenv.Start(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the test API server:", err)
		}
	}()
	apiServer = cfg
	if k8sClient, err = client.New(cfg, client.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, "creating a client:", err)
		return 1
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating a discovery client:", err)
		return 1
	}
	info, err := dc.ServerVersion()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading the API server's version:", err)
		return 1
	}
	kubeVersion = info.GitVersion
	return m.Run()
}
