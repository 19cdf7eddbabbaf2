package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads the manager's /metrics. The text format is simple enough to read here
// without another dependency.
func scrape(addr string) ([]sample, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("scraping the manager: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	return parseSamples(resp)
}

// parseSamples reads a /metrics answer in the Prometheus text format.
func parseSamples(resp *http.Response) ([]sample, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: %s", resp.Request.URL, resp.Status)
	}
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		s := sample{labels: map[string]string{}, value: v}
		head := line[:sp]
		if i := strings.IndexByte(head, '{'); i >= 0 {
			s.name = head[:i]
			for _, kv := range splitLabels(strings.TrimSuffix(head[i+1:], "}")) {
				if k, val, ok := strings.Cut(kv, "="); ok {
					s.labels[k] = strings.Trim(val, `"`)
				}
			}
		} else {
			s.name = head
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// splitLabels splits a="x",b="y,z" at the commas outside quotes.
func splitLabels(s string) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		parts = append(parts, s[start:])
	}
	return parts
}

// sum adds the samples called name whose labels include every pair in match.
func sum(samples []sample, name string, match map[string]string) float64 {
	var total float64
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			total += s.value
		}
	}
	return total
}

// managerStats is what one scrape says about the manager.
type managerStats struct {
	reconciles map[string]float64 // controller → reconcile_total, all results
	errors     float64
	depth      map[string]float64 // controller → workqueue depth
	writes     float64
	byVerb     map[string]float64
	heap       float64 // bytes in use on the Go heap
}

var controllerNames = []string{"pushservice", "mobileproxy"}

func readStats(addr string) (managerStats, error) {
	samples, err := scrape(addr)
	if err != nil {
		return managerStats{}, err
	}
	st := managerStats{reconciles: map[string]float64{}, depth: map[string]float64{}}
	for _, c := range controllerNames {
		st.reconciles[c] = sum(samples, "controller_runtime_reconcile_total", map[string]string{"controller": c})
		st.errors += sum(samples, "controller_runtime_reconcile_total", map[string]string{"controller": c, "result": "error"})
		st.depth[c] = sum(samples, "workqueue_depth", map[string]string{"name": c})
	}
	st.writes = sum(samples, "bench_manager_writes_total", nil)
	st.byVerb = map[string]float64{}
	for _, s := range samples {
		if s.name == "bench_manager_writes_total" {
			st.byVerb[s.labels["verb"]] += s.value
		}
	}
	st.heap = sum(samples, "go_memstats_heap_inuse_bytes", nil)
	return st, nil
}

func (s managerStats) totalReconciles() float64 {
	return s.reconciles["pushservice"] + s.reconciles["mobileproxy"]
}

// cpuSeconds is the user+system CPU time a process has used, from /proc/<pid>/stat.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) start after the last ')'.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// rssOf reads a process's current and peak resident set size in bytes from /proc.
func rssOf(pid int) (current, peak float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			current = kb * 1024
		case "VmHWM:":
			peak = kb * 1024
		}
	}
	return current, peak
}
