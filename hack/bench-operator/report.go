package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// sampler scrapes the manager every sampleEvery while it converges.
type sampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	points []point
}

func startSampler(ctx context.Context, addr string, start time.Time) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			if st, err := readStats(addr); err == nil {
				s.mu.Lock()
				s.points = append(s.points, point{at: time.Since(start), depth: st.depth["pushservice"] + st.depth["mobileproxy"], reconciles: st.totalReconciles(), psDepth: st.depth["pushservice"]})
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() []point {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.points
}

// percentile of sorted durations, nearest rank.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func mib(b float64) string { return fmt.Sprintf("%.0f", b/(1<<20)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

// printTimeline prints the workqueue depth and reconcile rate over the convergence, about
// a dozen points.
func (r result) printTimeline() {
	if len(r.timeline) == 0 {
		return
	}
	step := max(1, len(r.timeline)/12)
	var b strings.Builder
	prev := r.timeline[0]
	for i := 0; i < len(r.timeline); i += step {
		p := r.timeline[i]
		rate := 0.0
		if dt := (p.at - prev.at).Seconds(); dt > 0 {
			rate = (p.reconciles - prev.reconciles) / dt
		}
		fmt.Fprintf(&b, "  t=%5.1fs  depth %5.0f (PS %5.0f, MP %5.0f)  reconciles/s %6.0f\n", p.at.Seconds(), p.depth, p.psDepth, p.depth-p.psDepth, rate)
		prev = p
	}
	fmt.Printf("converged in %s; workqueue depth (pushservice+mobileproxy) over time:\n%s", secs(r.total)+"s", b.String())
}

func printTable(results []result) {
	fmt.Println("\nconverged = observedGeneration current + CredentialsValid/CertificateValid True + every child present (no kubelet: Ready needs pods)")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "N\ttotal s\tPS p50/p99 s\tMP p50/p99 s\tfloor s\tratio\tapply floor s\tfloor+CR s\tratio+CR\treconciles/s\tpeak depth\tresync writes/reconciles\theap MiB\tRSS MiB\tpeak RSS MiB\tmanager CPU s\tserver CPU s (floor)\terrors\t")
	for _, r := range results {
		ratio := func(d time.Duration) float64 {
			if d <= 0 {
				return 0
			}
			return r.total.Seconds() / d.Seconds()
		}
		fmt.Fprintf(w, "%d\t%s\t%s/%s\t%s/%s\t%s\t%.2f\t%s\t%s\t%.2f\t%.0f\t%.0f\t%.0f/%.0f\t%s\t%s\t%s\t%.1f\t%.1f (%.1f)\t%.0f\t\n",
			r.n, secs(r.total),
			secs(percentile(r.psLatency, .5)), secs(percentile(r.psLatency, .99)),
			secs(percentile(r.mpLatency, .5)), secs(percentile(r.mpLatency, .99)),
			secs(r.floor), ratio(r.floor), secs(r.applyFloor), secs(r.fullFloor), ratio(r.fullFloor), r.reconcilesPerSecond, r.peakDepth,
			r.resyncWrites, r.resyncReconciles, mib(r.heap), mib(r.rss), mib(r.peakRSS), r.managerCPU, r.serverCPU, r.floorServerCPU, r.reconcileErrors)
	}
	_ = w.Flush()
}
