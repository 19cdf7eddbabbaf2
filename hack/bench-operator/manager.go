package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pushops/push-operator/controllers"
)

// The manager runs in a process of its own (this binary, re-executed with -run-manager) so
// that its RSS and heap are its own and not the benchmark's objects and watches.

// writesMetric counts every write the manager's client makes, by verb; the benchmark
// scrapes it with the controller-runtime metrics.
var writesMetric = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "bench_manager_writes_total",
	Help: "Writes (create, update, patch, apply, delete, status) the manager's client made.",
}, []string{"verb"})

// runManager is the child process: the shipped manager options and controllers, a write
// counting client, metrics on metricsAddr. It stops on SIGTERM.
func runManager(metricsAddr string) error {
	crmetrics.Registry.MustRegister(writesMetric)
	options := controllers.ManagerOptions(controllers.NewScheme())
	options.Metrics = metricsserver.Options{BindAddress: metricsAddr}
	options.HealthProbeBindAddress = "0"
	options.NewClient = func(cfg *rest.Config, opts client.Options) (client.Client, error) {
		c, err := client.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		return &countingClient{Client: c}, nil
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(controllers.TuneRESTConfig(cfg), options)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if err := controllers.SetupWithManager(mgr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return mgr.Start(ctx)
}

// startManager re-executes this binary as the manager against kubeconfig.
func startManager(kubeconfig, metricsAddr string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-run-manager", metricsAddr)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stderr = os.Stderr
	// The manager dies with the benchmark, however the benchmark ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the manager process: %w", err)
	}
	return cmd, nil
}

type countingClient struct{ client.Client }

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	writesMetric.WithLabelValues("create").Inc()
	return c.Client.Create(ctx, obj, opts...)
}
func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	writesMetric.WithLabelValues("update").Inc()
	return c.Client.Update(ctx, obj, opts...)
}
func (c *countingClient) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
	writesMetric.WithLabelValues("patch").Inc()
	return c.Client.Patch(ctx, obj, p, opts...)
}
func (c *countingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	writesMetric.WithLabelValues("apply").Inc()
	return c.Client.Apply(ctx, obj, opts...)
}
func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	writesMetric.WithLabelValues("delete").Inc()
	return c.Client.Delete(ctx, obj, opts...)
}
func (c *countingClient) Status() client.SubResourceWriter {
	return &countingStatus{SubResourceWriter: c.Client.Status()}
}

type countingStatus struct{ client.SubResourceWriter }

func (w *countingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	writesMetric.WithLabelValues("status").Inc()
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}
func (w *countingStatus) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	writesMetric.WithLabelValues("status").Inc()
	return w.SubResourceWriter.Patch(ctx, obj, p, opts...)
}
