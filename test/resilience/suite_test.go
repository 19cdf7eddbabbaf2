// Package resilience tests the operator under faults on a real API server: managers killed
// mid-convergence, two replicas with leader election, other writers on its children,
// Secrets and namespaces deleted, the API server stopped and restarted, CR deletion.
//
// It has its own API server (not the controllers suite's) because it stops and restarts
// it and runs several managers, one after another or side by side.
package resilience

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pushops/push-operator/controllers"
	"github.com/pushops/push-operator/internal/testenv"
)

var (
	scheme    = controllers.NewScheme()
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "resilience suite:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (code int, err error) {
	flag.Parse()
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(testing.Verbose())))

	// A certificate directory of our own: envtest regenerates the serving CA when it
	// restarts an API server in a directory it allocated, and the managers' clients would
	// then no longer trust it. In ours the certificates, and the port, survive a restart.
	certDir, err := os.MkdirTemp("", "resilience-apiserver-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(certDir) }()
	testEnv = testenv.New()
	apiServer := testEnv.ControlPlane.GetAPIServer()
	apiServer.CertDir = certDir
	// With the managers' watches open, kube-apiserver's graceful shutdown outlasts envtest's
	// 20 s default; after this long envtest kills it, which is an outage all the same.
	apiServer.StopTimeout = 3 * time.Second
	cfg, err = testenv.Start(testEnv)
	if err != nil {
		return 0, err
	}
	defer func() {
		if stopErr := testEnv.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stopping the test API server: %w", stopErr)
		}
	}()
	if k8sClient, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// ctx is the context of API calls made by the tests themselves.
var ctx = context.Background()
