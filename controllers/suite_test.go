package controllers

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pushops/push-operator/internal/testenv"
)

// One real API server and one manager, running the shipped controller wiring, serve every
// test of this package.
var (
	testScheme = NewScheme()
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controllers suite:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (code int, err error) {
	flag.Parse()
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(testing.Verbose())))

	testEnv = testenv.New()
	cfg, err = testenv.Start(testEnv)
	if err != nil {
		return 0, err
	}
	defer func() {
		if stopErr := testEnv.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stopping the test API server: %w", stopErr)
		}
	}()

	k8sClient, err = client.New(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		return 0, err
	}

	// The shipped manager options (cache filters, concurrency, rate limits), so the tests
	// run against what the binary runs.
	options := ManagerOptions(testScheme)
	options.Metrics = metricsserver.Options{BindAddress: "0"}
	options.HealthProbeBindAddress = "0"
	options.NewClient = newWriteCountingClient
	mgr, err := ctrl.NewManager(TuneRESTConfig(cfg), options)
	if err != nil {
		return 0, err
	}
	if err := SetupWithManager(mgr); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if mgrErr := <-mgrDone; mgrErr != nil && err == nil {
			err = fmt.Errorf("manager: %w", mgrErr)
		}
	}()

	return m.Run(), nil
}
