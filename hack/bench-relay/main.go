// Command bench-relay measures the relay under load on loopback (make bench-relay): it
// starts fake APNs and FCM, runs the built relay binary against them, and drives
// POST /api/v1/send_push for the apple and android platforms at several concurrencies.
// The same load sent with the apns2 (firebase) client straight to the fake is the
// ceiling; the report gives requests/s, p50/p99, the relay's RSS and allocations per push,
// the ratio to the ceiling, and the p99 latency the relay adds at half of its peak rate.
// It prints numbers only: it never fails on them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
)

func main() {
	relayBin := flag.String("relay", "bin/relay", "relay binary to measure")
	duration := flag.Duration("duration", 3*time.Second, "measuring time per run and side, cut into alternating rounds")
	concs := flag.String("concurrency", "16,64,256", "concurrent senders per run, comma-separated")
	latency := flag.Duration("latency", 0, "fake APNs/FCM answer delay (e.g. 20ms for a realistic round trip to Apple or Google)")
	hopFloorEndpoints := flag.String(hopFloorFlag, "", "internal: run as the hop floor server with these endpoints")
	flag.Parse()
	if *hopFloorEndpoints != "" {
		if err := serveHopFloor(*hopFloorEndpoints); err != nil {
			fmt.Fprintln(os.Stderr, "bench-relay hop floor:", err)
			os.Exit(1)
		}
		return
	}
	var levels []int
	for _, c := range strings.Split(*concs, ",") {
		var n int
		if _, err := fmt.Sscan(c, &n); err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench-relay: bad concurrency %q\n", c)
			os.Exit(2)
		}
		levels = append(levels, n)
	}
	if err := run(*relayBin, *duration, *latency, levels); err != nil {
		fmt.Fprintln(os.Stderr, "bench-relay:", err)
		os.Exit(1)
	}
}

// cpuOf is a process's CPU time so far, 0 if it cannot be read.
func cpuOf(pid int) time.Duration {
	d, _ := processCPU(pid)
	return d
}

// perPush is CPU time per push of a side, over all of its rounds (the other sides' rounds
// leave the process idle).
func perPush(cpu time.Duration, r result) string {
	if r.n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f µs", float64(cpu.Microseconds())/float64(r.n))
}

func run(relayBin string, d, latency time.Duration, levels []int) error {
	w, err := newWorld()
	if err != nil {
		return err
	}
	w.apns.SetLatency(latency)
	w.fcm.SetLatency(latency)
	defer w.close()
	relay, err := startRelay(relayBin, w)
	if err != nil {
		return err
	}
	defer relay.stop()
	floor, err := startHopFloor(w)
	if err != nil {
		return err
	}
	defer floor.stop()

	fmt.Printf("bench-relay: %s per run and side in %d alternating rounds, fake answer delay %s; %d CPUs shared by the load generator, the fakes and the relay\n",
		d, rounds, latency, numCPU())
	if avg, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average before the run: %s\n\n", strings.Join(strings.Fields(string(avg))[:3], " "))
	}
	fmt.Println("| platform | concurrency | relay req/s | relay p50 | relay p99 | ceiling req/s | ceiling p50 | ceiling p99 | ratio | hop floor req/s | hop floor p99 | relay/hop floor | relay CPU/push | hop floor CPU/push | relay RSS | allocs/push | bytes/push |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	peaks := map[string]float64{}
	for _, platform := range []string{"apple", "android"} {
		direct := w.direct(platform)
		for _, c := range levels {
			before, err := relay.memStats()
			if err != nil {
				return err
			}
			relayCPU, floorCPU := cpuOf(relay.cmd.Process.Pid), cpuOf(floor.cmd.Process.Pid)
			sides := compare(c, d, 0, relay.send(platform), direct, floor.send(platform))
			viaRelay, ceiling, hop := sides[0], sides[1], sides[2]
			after, err := relay.memStats()
			if err != nil {
				return err
			}
			relayCPU, floorCPU = cpuOf(relay.cmd.Process.Pid)-relayCPU, cpuOf(floor.cmd.Process.Pid)-floorCPU
			if viaRelay.errors > 0 || ceiling.errors > 0 || hop.errors > 0 {
				fmt.Fprintf(os.Stderr, "  %s c=%d: %d relay errors (%v), %d ceiling errors (%v), %d hop floor errors (%v)\n",
					platform, c, viaRelay.errors, viaRelay.firstErr, ceiling.errors, ceiling.firstErr, hop.errors, hop.firstErr)
			}
			n := float64(viaRelay.n)
			fmt.Printf("| %s | %d | %.0f | %s | %s | %.0f | %s | %s | %.0f %% | %.0f | %s | %.0f %% | %s | %s | %s | %.0f | %.0f |\n",
				platform, c, viaRelay.rps(), ms(viaRelay.p(50)), ms(viaRelay.p(99)),
				ceiling.rps(), ms(ceiling.p(50)), ms(ceiling.p(99)), 100*viaRelay.rps()/ceiling.rps(),
				hop.rps(), ms(hop.p(99)), 100*viaRelay.rps()/hop.rps(), perPush(relayCPU, viaRelay), perPush(floorCPU, hop),
				mib(after.rss), (after.mallocs-before.mallocs)/n, (after.bytes-before.bytes)/n)
			peaks[platform] = max(peaks[platform], viaRelay.rps())
		}
	}

	fmt.Println()
	fmt.Println("Added latency at half of the relay's peak rate (64 senders, paced):")
	fmt.Println()
	fmt.Println("| platform | rate req/s | relay p50 | relay p99 | direct p50 | direct p99 | p99 added | hop floor p50 | hop floor p99 | p99 added over hop floor |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, platform := range []string{"apple", "android"} {
		rate := peaks[platform] / 2
		sides := compare(64, d, rate, relay.send(platform), w.direct(platform), floor.send(platform))
		viaRelay, direct, hop := sides[0], sides[1], sides[2]
		fmt.Printf("| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", platform, rate,
			ms(viaRelay.p(50)), ms(viaRelay.p(99)), ms(direct.p(50)), ms(direct.p(99)), ms(viaRelay.p(99)-direct.p(99)),
			ms(hop.p(50)), ms(hop.p(99)), ms(viaRelay.p(99)-hop.p(99)))
	}
	final, err := relay.memStats()
	if err != nil {
		return err
	}
	fmt.Printf("\nrelay peak RSS (VmHWM): %s\n", mib(final.hwm))
	return nil
}

// world is the fakes with credentials and a relay configuration for them.
type world struct {
	dir  string
	ca   *fake.CA
	apns *fake.APNs
	fcm  *fake.FCM
	sa   *fake.ServiceAccount
	p8   string
	cfg  string
}

func newWorld() (*world, error) {
	dir, err := os.MkdirTemp("", "bench-relay-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir}
	if w.ca, err = fake.NewCA("bench CA"); err != nil {
		return nil, err
	}
	if w.apns, err = fake.NewAPNs("", w.ca); err != nil {
		return nil, err
	}
	if w.fcm, err = fake.NewFCM("", w.ca); err != nil {
		return nil, err
	}
	// Record nothing: a long run must not grow the fakes.
	w.apns.MaxRecorded, w.fcm.MaxRecorded = 0, 0
	if w.sa, err = fake.NewServiceAccount("bench", w.fcm.TokenURL()); err != nil {
		return nil, err
	}
	p8, _, err := fake.APNsAuthKey()
	if err != nil {
		return nil, err
	}
	w.p8 = filepath.Join(dir, "key.p8")
	caFile := filepath.Join(dir, "ca.pem")
	saFile := filepath.Join(dir, "sa.json")
	cfg := config.Config{
		Listen: "127.0.0.1:0", // replaced by startRelay
		Apps: []config.App{
			{Platform: "apple", Kind: config.AppKindApple, APNs: &config.APNs{Topic: "com.example.chat",
				AuthKeyFile: w.p8, KeyID: "BENCHKEY01", TeamID: "BENCHTEAM1", Endpoint: w.apns.URL(), CAFile: caFile}},
			{Platform: "android", Kind: config.AppKindAndroid, FCM: &config.FCM{
				ServiceAccountFile: saFile, Endpoint: w.fcm.URL(), CAFile: caFile}},
		},
		Throttle: config.Throttle{PerSecond: -1},
		Log:      config.Log{Level: "error", Format: "json"},
	}
	rendered, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	w.cfg = filepath.Join(dir, "relay.yaml")
	for path, data := range map[string][]byte{w.p8: p8, caFile: w.ca.CertPEM, saFile: w.sa.JSON, w.cfg: rendered} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *world) close() {
	w.apns.Close()
	w.fcm.Close()
	os.RemoveAll(w.dir)
}

// relayProcess is the relay binary under test.
type relayProcess struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

func startRelay(bin string, w *world) (*relayProcess, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("relay binary: %w (run make build or pass --relay)", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(w.cfg)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(w.cfg, []byte(strings.Replace(string(raw), "127.0.0.1:0", addr, 1)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", w.cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &relayProcess{cmd: cmd, url: "http://" + addr, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.waitReady(ctx); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *relayProcess) stop() {
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

var errNotReady = errors.New("relay did not become ready")
