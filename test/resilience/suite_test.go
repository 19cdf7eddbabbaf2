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

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/internal/testenv"
)

var (
	scheme    = runtime.NewScheme()
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(pushv1alpha1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))
	utilruntime.Must(gatewayv1beta1.Install(scheme))
	utilruntime.Must(cmv1.AddToScheme(scheme))
}

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
