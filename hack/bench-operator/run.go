package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pushops/push-operator/controllers"
	"github.com/pushops/push-operator/internal/testenv"
)

// floorWorkers is as many goroutines as the manager has reconciles in flight.
const floorWorkers = 2 * controllers.MaxConcurrentReconciles

const sampleEvery = 500 * time.Millisecond

// point is one sample of the manager while it converges.
type point struct {
	at         time.Duration
	depth      float64 // both controllers' workqueues
	psDepth    float64 // the PushService controller's alone
	reconciles float64
}

type result struct {
	n                    int
	total, floor         time.Duration
	applyFloor           time.Duration // the floor with server-side apply instead of create
	fullFloor            time.Duration // the floor plus creating the custom resources and writing their status
	psLatency, mpLatency []time.Duration
	reconcilesPerSecond  float64
	reconcileErrors      float64
	peakDepth            float64
	resyncReconciles     float64
	resyncWrites         float64
	heap, rss, peakRSS   float64
	managerCPU           float64 // CPU seconds the manager used while converging
	serverCPU            float64 // CPU seconds kube-apiserver and etcd used while converging
	floorServerCPU       float64 // the same while the floor ran
	timeline             []point
}

// runSize runs one size on a fresh API server, so sizes do not inherit each other's data.
func runSize(ctx context.Context, n, workers int, timeout time.Duration) (r result, err error) {
	r.n = n
	env := testenv.New()
	// Two Services per tenant and the floor's copies outgrow envtest's default /24.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	cfg, err := testenv.Start(env)
	if err != nil {
		return r, err
	}
	defer func() {
		if stopErr := env.Stop(); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The benchmark's own client is not the thing measured: no client-side limit.
	setupCfg := rest.CopyConfig(cfg)
	setupCfg.QPS, setupCfg.Burst = 2000, 4000
	bench, err := client.New(setupCfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return r, err
	}
	tenants, floors, applyFloors, fullFloors := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range n {
		tenants[i], floors[i] = fmt.Sprintf("t%04d", i), fmt.Sprintf("floor-%04d", i)
		applyFloors[i], fullFloors[i] = fmt.Sprintf("applyfloor-%04d", i), fmt.Sprintf("fullfloor-%04d", i)
	}
	const warmup = "warmup"
	setupStart := time.Now()
	m := newMaterial()
	if err := createNamespaces(ctx, bench, slices.Concat([]string{warmup}, tenants, floors, applyFloors, fullFloors), workers); err != nil {
		return r, fmt.Errorf("creating namespaces: %w", err)
	}
	all := append([]string{warmup}, tenants...)
	if err := parallel(ctx, len(all), workers, func(ctx context.Context, i int) error {
		for _, obj := range m.inputs(all[i]) {
			if err := bench.Create(ctx, obj); err != nil {
				return fmt.Errorf("creating %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
			}
		}
		return nil
	}); err != nil {
		return r, err
	}
	fmt.Printf("setup: %d namespaces with Secrets, CA bundle and Service in %s\n", 4*n+1, time.Since(setupStart).Round(time.Millisecond))

	track, err := newTracker(ctx, cfg)
	if err != nil {
		return r, err
	}
	mgr, addr, err := launchManager(ctx, env)
	if err != nil {
		return r, err
	}
	stopped := false
	stopManager := func() {
		if !stopped {
			stopped = true
			_ = mgr.Process.Signal(syscall.SIGTERM)
			_ = mgr.Wait()
		}
	}
	defer stopManager()

	// A warm-up tenant converges first, so the timing starts with caches synced.
	if err := createTenant(ctx, bench, warmup, nil); err != nil {
		return r, err
	}
	waitCtx, waitCancel := context.WithTimeout(ctx, timeout)
	defer waitCancel()
	if err := track.wait(waitCtx, []string{warmup}); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}

	// Converge N tenants, sampling the manager's metrics meanwhile.
	start := time.Now()
	cpuBefore := cpuSeconds(mgr.Process.Pid)
	atStart, err := readStats(addr)
	if err != nil {
		return r, err
	}
	serverAtStart, serverErr := readServer(setupCfg)
	if profile := os.Getenv("BENCH_APISERVER_PROFILE"); profile != "" {
		profileServer(setupCfg, 20*time.Second, fmt.Sprintf("%s.%d", profile, n))
	}
	sampler := startSampler(ctx, addr, start)
	created := &createdAt{ps: map[string]time.Time{}, mp: map[string]time.Time{}}
	if err := parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		return createTenant(ctx, bench, tenants[i], created)
	}); err != nil {
		return r, err
	}
	if err := track.wait(waitCtx, tenants); err != nil {
		return r, fmt.Errorf("convergence: %w", err)
	}
	psAt, mpAt := track.times()
	var end time.Time
	for _, ns := range tenants {
		r.psLatency = append(r.psLatency, psAt[ns].Sub(created.ps[ns]))
		r.mpLatency = append(r.mpLatency, mpAt[ns].Sub(created.mp[ns]))
		for _, t := range []time.Time{psAt[ns], mpAt[ns]} {
			if t.After(end) {
				end = t
			}
		}
	}
	r.total = end.Sub(start)
	r.managerCPU = cpuSeconds(mgr.Process.Pid) - cpuBefore
	if serverAtEnd, err := readServer(setupCfg); err == nil && serverErr == nil {
		phase := serverAtStart.until(serverAtEnd)
		r.serverCPU = phase.cpu["kube-apiserver"] + phase.cpu["etcd"]
		phase.print("until converged (the benchmark's own watches and creates included)", n)
	}
	if atEnd, err := readStats(addr); err == nil {
		fmt.Printf("until converged: %.0f PushService and %.0f MobileProxy reconciles, manager writes by verb:",
			atEnd.reconciles["pushservice"]-atStart.reconciles["pushservice"], atEnd.reconciles["mobileproxy"]-atStart.reconciles["mobileproxy"])
		for _, verb := range []string{"apply", "create", "update", "patch", "delete", "status"} {
			fmt.Printf(" %s %.0f", verb, atEnd.byVerb[verb]-atStart.byVerb[verb])
		}
		fmt.Println()
	}
	r.timeline = sampler.stop()
	if len(r.timeline) > 0 {
		first := r.timeline[0].reconciles
		for _, p := range r.timeline {
			r.peakDepth = max(r.peakDepth, p.depth)
			if p.at <= r.total+sampleEvery {
				r.reconcilesPerSecond = (p.reconciles - first) / p.at.Seconds()
			}
		}
	}

	if err := measureResync(waitCtx, bench, addr, tenants, workers, &r); err != nil {
		return r, err
	}
	r.rss, r.peakRSS = rssOf(mgr.Process.Pid)
	stopManager()

	events := &metav1.PartialObjectMetadataList{}
	events.SetGroupVersionKind(eventsv1.SchemeGroupVersion.WithKind("EventList"))
	if err := bench.List(ctx, events); err == nil {
		fmt.Printf("events the operator recorded: %d\n", len(events.Items))
	}
	children, err := operatorChildren(ctx, bench)
	if err != nil {
		return r, err
	}
	crs, err := operatorResources(ctx, bench)
	if err != nil {
		return r, err
	}
	notWarmup := func(o *unstructured.Unstructured) bool { return o.GetNamespace() == warmup }
	tenantChildren := slices.DeleteFunc(children, notWarmup)
	tenantCRs := slices.DeleteFunc(crs, notWarmup)
	floorClient, err := client.New(controllers.TuneRESTConfig(cfg), client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return r, err
	}
	rename := func(prefix string) func(string) string { return func(ns string) string { return prefix + ns[1:] } }
	baselines := []struct {
		name, done string
		into       *time.Duration
		run        func() (time.Duration, error)
	}{
		{"floor", fmt.Sprintf("%d children created by a plain client loop", len(tenantChildren)), &r.floor, func() (time.Duration, error) {
			return floor(ctx, floorClient, tenantChildren, rename("floor-"), floorWorkers, false)
		}},
		{"floor by server-side apply", "the same children applied", &r.applyFloor, func() (time.Duration, error) {
			return floor(ctx, floorClient, tenantChildren, rename("applyfloor-"), floorWorkers, true)
		}},
		{"floor with the custom resources", fmt.Sprintf("%d PushServices and MobileProxies created and their status written once, and their children created,", len(tenantCRs)), &r.fullFloor, func() (time.Duration, error) {
			return fullFloor(ctx, floorClient, tenantCRs, tenantChildren, rename("fullfloor-"), floorWorkers)
		}},
	}
	for i, f := range baselines {
		before, serverErr := readServer(setupCfg)
		if *f.into, err = f.run(); err != nil {
			return r, err
		}
		fmt.Printf("%s: %s in %s\n", f.name, f.done, f.into.Round(time.Millisecond))
		if after, err := readServer(setupCfg); err == nil && serverErr == nil {
			phase := before.until(after)
			if i == 0 {
				r.floorServerCPU = phase.cpu["kube-apiserver"] + phase.cpu["etcd"]
			}
			phase.print(f.name, n)
		}
	}
	return r, nil
}

type createdAt struct {
	mu     sync.Mutex
	ps, mp map[string]time.Time
}

func createTenant(ctx context.Context, c client.Client, ns string, at *createdAt) error {
	note := func(m map[string]time.Time) {
		if at != nil {
			at.mu.Lock()
			m[ns] = time.Now()
			at.mu.Unlock()
		}
	}
	var psTimes, mpTimes map[string]time.Time
	if at != nil {
		psTimes, mpTimes = at.ps, at.mp
	}
	note(psTimes)
	if err := c.Create(ctx, pushService(ns)); err != nil {
		return fmt.Errorf("creating PushService in %s: %w", ns, err)
	}
	note(mpTimes)
	if err := c.Create(ctx, mobileProxy(ns)); err != nil {
		return fmt.Errorf("creating MobileProxy in %s: %w", ns, err)
	}
	return nil
}

// launchManager starts the manager process as a user of the API server in system:masters
// (RBAC is not what is measured) with metrics on a free loopback port, and waits until
// its metrics answer.
func launchManager(ctx context.Context, env *envtest.Environment) (*exec.Cmd, string, error) {
	kubeconfig, err := writeKubeconfig(env)
	if err != nil {
		return nil, "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cmd, err := startManager(kubeconfig, addr)
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := readStats(addr); err == nil {
			return cmd, addr, nil
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, "", fmt.Errorf("the manager's metrics did not answer: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// measureResync wakes every PushService and MobileProxy through their Secret watches once
// they converged, and counts the manager's writes over those reconciles (target 0).
func measureResync(ctx context.Context, c client.Client, addr string, tenants []string, workers int, r *result) error {
	before, err := settled(ctx, addr)
	if err != nil {
		return err
	}
	stamp := time.Now().Format(time.RFC3339Nano)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"bench.pushops.dev/resync":"`+stamp+`"}}}`))
	if err := parallel(ctx, len(tenants), workers, func(ctx context.Context, i int) error {
		for _, name := range []string{"apns", "chat-tls"} {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenants[i], Name: name}}
			if err := c.Patch(ctx, s, patch); err != nil {
				return fmt.Errorf("touching Secret %s/%s: %w", tenants[i], name, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	want := before.totalReconciles() + float64(2*len(tenants))
	for {
		after, err := settled(ctx, addr)
		if err != nil {
			return err
		}
		if after.totalReconciles() >= want {
			r.resyncReconciles = after.totalReconciles() - before.totalReconciles()
			r.resyncWrites = after.writes - before.writes
			r.reconcileErrors = after.errors
			r.heap = after.heap
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("resync: %.0f of %d reconciles: %w", after.totalReconciles()-before.totalReconciles(), 2*len(tenants), ctx.Err())
		case <-time.After(sampleEvery):
		}
	}
}

// settled waits until both workqueues are empty and the reconcile count has not moved for
// a second, then returns the manager's figures.
func settled(ctx context.Context, addr string) (managerStats, error) {
	var last managerStats
	quietSince := time.Time{}
	for {
		st, err := readStats(addr)
		if err != nil {
			return st, err
		}
		idle := st.depth["pushservice"] == 0 && st.depth["mobileproxy"] == 0
		switch {
		case !idle || st.totalReconciles() != last.totalReconciles():
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		case time.Since(quietSince) >= time.Second:
			return st, nil
		}
		last = st
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("waiting for the manager to settle: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// freeAddr is a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

func writeKubeconfig(env *envtest.Environment) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "push-operator-bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("adding the manager's user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("bench-operator-%d.kubeconfig", os.Getpid()))
	return path, os.WriteFile(path, data, 0o600)
}
