package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	firebase "firebase.google.com/go/v4"
	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
	"google.golang.org/api/option"

	"github.com/pushops/push-operator/relay/apns"
	"github.com/pushops/push-operator/relay/egress"
	"github.com/pushops/push-operator/relay/fcm"
	"github.com/pushops/push-operator/relay/push"
)

// sendFunc makes one push; it returns an error unless the push was accepted.
type sendFunc func(ctx context.Context) error

// result is one run's latencies.
type result struct {
	n        int
	elapsed  time.Duration
	lat      []time.Duration
	errors   int64
	firstErr error
}

func (r result) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) p(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*q/100))]
}

// rounds is how many alternating slices a comparison is cut into, so that background
// load on a shared machine hits the relay and the ceiling alike.
const rounds = 3

// compare measures each side under the same load, alternating between them in rounds,
// and returns each one's merged result over d.
func compare(conc int, d time.Duration, rate float64, sides ...sendFunc) []result {
	out := make([]result, len(sides))
	for range rounds {
		for i, side := range sides {
			out[i] = out[i].merge(load(conc, d/rounds, rate, side))
		}
	}
	return out
}

func (r result) merge(o result) result {
	lat := append(r.lat, o.lat...)
	slices.Sort(lat)
	first := r.firstErr
	if first == nil {
		first = o.firstErr
	}
	return result{n: r.n + o.n, elapsed: r.elapsed + o.elapsed, lat: lat, errors: r.errors + o.errors, firstErr: first}
}

// load runs conc senders for d after a short warm-up. rate > 0 paces the start of sends
// to that many per second in total (open loop as far as conc allows); 0 sends flat out.
func load(conc int, d time.Duration, rate float64, send sendFunc) result {
	warmup := 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), warmup+d)
	defer cancel()
	measureFrom := time.Now().Add(warmup)
	var ticks chan struct{}
	if rate > 0 {
		ticks = make(chan struct{}, conc)
		go pace(ctx, rate, ticks)
	}
	var (
		mu       sync.Mutex
		all      []time.Duration
		errs     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				if ticks != nil {
					select {
					case <-ticks:
					case <-ctx.Done():
						continue
					}
				}
				start := time.Now()
				err := send(ctx)
				if ctx.Err() != nil {
					break // cut off by the end of the run: not a measurement
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if start.After(measureFrom) {
					mine = append(mine, time.Since(start))
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	r := result{n: len(all), elapsed: d, lat: all, errors: errs.Load()}
	if e, ok := firstErr.Load().(error); ok {
		r.firstErr = e
	}
	return r
}

func pace(ctx context.Context, rate float64, ticks chan<- struct{}) {
	start := time.Now()
	for i := 0; ; i++ {
		next := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if wait := time.Until(next); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		select {
		case ticks <- struct{}{}:
		case <-ctx.Done():
			return
		default: // every sender busy: the relay is saturated at this rate; drop the tick
		}
	}
}

// sample is a message push as a chat server sends it.
func sample(platform string) *push.Notification {
	return &push.Notification{
		AckID: "ackbenchmark0000000000001", Platform: platform + "-v2", ServerID: "benchserver00000000000000",
		DeviceID: "3c2f8e51a0c94ff2b1c7d7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6", PostID: "post0000000000000000000001",
		Category: "CAN_REPLY", Message: "alice: are we still on for the release review at three?", Badge: 2,
		TeamID: "team00000000000000000000001", ChannelID: "channel0000000000000000001", ChannelName: "Release",
		Type: push.TypeMessage, SenderID: "user0000000000000000000001", SenderName: "alice", Version: "v2",
	}
}

func (r *relayProcess) send(platform string) sendFunc {
	return postPush(r.url+"/api/v1/send_push", platform)
}

// postPush sends the sample push for platform to url over keep-alive HTTP/1.1, as the chat
// server does, and expects an OK answer.
func postPush(url, platform string) sendFunc {
	body, _ := jsonMarshal(sample(platform))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}, Timeout: 30 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"OK"`)) {
			return fmt.Errorf("HTTP %d %s", resp.StatusCode, bytes.TrimSpace(answer))
		}
		return nil
	}
}

// endpoints is what a direct client needs to reach the fakes; the hop floor process gets it
// as JSON.
type endpoints struct {
	CAFile, P8, APNsURL    string
	FCMURL, TokenURL       string
	ClientEmail, ProjectID string
	ServiceAccountKeyPEM   []byte
}

func (w *world) endpoints() endpoints {
	return endpoints{CAFile: w.dir + "/ca.pem", P8: w.p8, APNsURL: w.apns.URL(), FCMURL: w.fcm.URL(),
		TokenURL: w.fcm.TokenURL(), ClientEmail: w.sa.ClientEmail, ProjectID: w.sa.ProjectID, ServiceAccountKeyPEM: pemKey(w.sa)}
}

// direct is the ceiling: the same push sent with the platform's client library straight
// to the fake, built the way the relay builds its clients (same payload, same transport).
func (w *world) direct(platform string) sendFunc { return directSend(w.endpoints(), platform) }

func directSend(e endpoints, platform string) sendFunc {
	n := sample(platform)
	n.Platform, n.AppVersion = platform, 2
	tr, err := egress.Transport(egress.Options{CAFile: e.CAFile})
	if err != nil {
		panic(err)
	}
	if platform == "apple" {
		key, err := token.AuthKeyFromFile(e.P8)
		if err != nil {
			panic(err)
		}
		client := &apns2.Client{Host: e.APNsURL, HTTPClient: &http.Client{Transport: tr},
			Token: &token.Token{AuthKey: key, KeyID: "BENCHKEY01", TeamID: "BENCHTEAM1"}}
		note := apns.Notification(n, apns.Form{Topic: "com.example.chat"})
		return func(ctx context.Context) error {
			res, err := client.PushWithContext(ctx, note)
			if err != nil {
				return err
			}
			if !res.Sent() {
				return fmt.Errorf("APNs %d %s", res.StatusCode, res.Reason)
			}
			return nil
		}
	}
	jc := &jwt.Config{Email: e.ClientEmail, PrivateKey: e.ServiceAccountKeyPEM, Scopes: []string{"https://www.googleapis.com/auth/firebase.messaging"}, TokenURL: e.TokenURL}
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: tr})
	hc := &http.Client{Transport: &oauth2.Transport{Source: jc.TokenSource(tokenCtx), Base: tr}}
	app, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: e.ProjectID},
		option.WithHTTPClient(hc), option.WithEndpoint(e.FCMURL))
	if err != nil {
		panic(err)
	}
	client, err := app.Messaging(context.Background())
	if err != nil {
		panic(err)
	}
	msg := fcm.Message(n)
	return func(ctx context.Context) error {
		_, err := client.Send(ctx, msg)
		return err
	}
}

// memStats is the relay process's memory as the OS and its Go runtime see it.
type memStats struct {
	rss, hwm       int64 // bytes
	mallocs, bytes float64
}

func (r *relayProcess) memStats() (memStats, error) {
	var m memStats
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			m.rss = kb << 10
		case "VmHWM:":
			m.hwm = kb << 10
		}
	}
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	sc = bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "go_memstats_mallocs_total "); ok {
			m.mallocs, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "go_memstats_alloc_bytes_total "); ok {
			m.bytes, _ = strconv.ParseFloat(v, 64)
		}
	}
	return m, sc.Err()
}

func (r *relayProcess) waitReady(ctx context.Context) error {
	for {
		resp, err := http.Get(r.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-r.done:
			return fmt.Errorf("relay exited: %v", err)
		case <-ctx.Done():
			return errNotReady
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func numCPU() int { return runtime.GOMAXPROCS(0) }
