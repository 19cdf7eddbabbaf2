// Command bench-operator measures the operator at scale on a real API server from bin/k8s:
// N tenants, each with a PushService and a MobileProxy and their Secrets, converged by the
// shipped manager (running in a process of its own), against a plain client loop creating
// the same children. `make bench-operator`; figures in docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pushops/push-operator/controllers"
)

func main() {
	var (
		runManagerAt = flag.String("run-manager", "", "internal: run the manager with metrics on this address")
		sizes        = flag.String("n", envOr("BENCH_N", "100,500,1000"), "comma-separated tenant counts (each: one PushService and one MobileProxy); env BENCH_N")
		workers      = flag.Int("workers", 16, "goroutines the benchmark creates objects with (inputs and custom resources)")
		timeout      = flag.Duration("timeout", 4*time.Minute, "bound on convergence and on the resync of one size")
	)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel)))
	if *runManagerAt != "" {
		if err := runManager(*runManagerAt); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
			os.Exit(1)
		}
		return
	}
	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench-operator: bad size %q in -n\n", f)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	fmt.Printf("bench-operator: manager options: MaxConcurrentReconciles=%d per controller, client QPS/Burst %d/%d; floor: %d goroutines, same QPS/Burst\n",
		controllers.MaxConcurrentReconciles, controllers.ClientQPS, controllers.ClientBurst, floorWorkers)
	var results []result
	for _, n := range ns {
		fmt.Printf("\n== N=%d ==\n", n)
		r, err := runSize(context.Background(), n, *workers, *timeout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench-operator: N=%d: %v\n", n, err)
			os.Exit(1)
		}
		r.printTimeline()
		results = append(results, r)
	}
	printTable(results)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
