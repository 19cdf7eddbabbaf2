package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// The API server is what limits convergence on a small machine, so each phase (the
// operator converging, the floor) is also read from its side: requests by verb and
// resource from its own /metrics, and the CPU its process and etcd's used.

// serverSnapshot is the API server's request counters and its and etcd's CPU at a moment.
type serverSnapshot struct {
	requests map[string]float64 // "VERB resource[/subresource]" → apiserver_request_total
	seconds  map[string]float64 // same key → apiserver_request_duration_seconds_sum
	cpu      map[string]float64 // "kube-apiserver", "etcd" → CPU seconds
}

// readServer scrapes the API server's /metrics with the benchmark's own credentials.
func readServer(cfg *rest.Config) (serverSnapshot, error) {
	snap := serverSnapshot{requests: map[string]float64{}, seconds: map[string]float64{}, cpu: controlPlaneCPU()}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return snap, err
	}
	hc.Timeout = 10 * time.Second
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/metrics")
	if err != nil {
		return snap, fmt.Errorf("scraping the API server: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	samples, err := parseSamples(resp)
	if err != nil {
		return snap, err
	}
	for _, s := range samples {
		key := s.labels["verb"] + " " + s.labels["resource"]
		if sub := s.labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		switch s.name {
		case "apiserver_request_total":
			snap.requests[key] += s.value
		case "apiserver_request_duration_seconds_sum":
			snap.seconds[key] += s.value
		}
	}
	return snap, nil
}

// serverPhase is what the API server did between two snapshots.
type serverPhase struct {
	rows     []serverRow
	requests float64
	cpu      map[string]float64
}

type serverRow struct {
	key      string
	requests float64
	seconds  float64
}

func (a serverSnapshot) until(b serverSnapshot) serverPhase {
	p := serverPhase{cpu: map[string]float64{}}
	for k, v := range b.requests {
		if d := v - a.requests[k]; d > 0 {
			p.rows = append(p.rows, serverRow{key: k, requests: d, seconds: b.seconds[k] - a.seconds[k]})
			p.requests += d
		}
	}
	slices.SortFunc(p.rows, func(x, y serverRow) int {
		if x.requests != y.requests {
			return int(y.requests - x.requests)
		}
		return strings.Compare(x.key, y.key)
	})
	for k, v := range b.cpu {
		p.cpu[k] = v - a.cpu[k]
	}
	return p
}

// print writes the phase's requests per tenant, their mean latency, and the control
// plane's CPU; requests under one per ten tenants are summed into "other".
func (p serverPhase) print(title string, tenants int) {
	fmt.Printf("API server, %s: %.0f requests (%.1f per tenant); CPU kube-apiserver %.1f s, etcd %.1f s\n",
		title, p.requests, p.requests/float64(tenants), p.cpu["kube-apiserver"], p.cpu["etcd"])
	var other float64
	for _, r := range p.rows {
		if r.requests < float64(tenants)/10 {
			other += r.requests
			continue
		}
		mean := 0.0
		if !strings.HasPrefix(r.key, "WATCH") && r.requests > 0 {
			mean = 1000 * r.seconds / r.requests
		}
		fmt.Printf("  %-44s %7.0f  %5.2f/tenant  mean %6.1f ms\n", r.key, r.requests, r.requests/float64(tenants), mean)
	}
	if other > 0 {
		fmt.Printf("  %-44s %7.0f\n", "other", other)
	}
}

// controlPlaneCPU is the CPU seconds used so far by the kube-apiserver and etcd processes
// this benchmark started (envtest runs them as its children).
func controlPlaneCPU() map[string]float64 {
	out := map[string]float64{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := os.Getpid()
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		comm := s[open+1 : end]
		if comm != "kube-apiserver" && comm != "etcd" {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != me {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		out[comm] += cpuSeconds(pid)
	}
	return out
}

// profileServer writes a CPU profile of the API server over the next d to path, for
// `go tool pprof`; it runs in the background and reports only failures.
func profileServer(cfg *rest.Config, d time.Duration, path string) {
	go func() {
		hc, err := rest.HTTPClientFor(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profiling the API server:", err)
			return
		}
		hc.Timeout = d + 30*time.Second
		resp, err := hc.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimSuffix(cfg.Host, "/"), int(d.Seconds())))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profiling the API server:", err)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "profiling the API server:", err)
		}
	}()
}
