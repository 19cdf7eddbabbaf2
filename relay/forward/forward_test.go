package forward_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/net/http/httpproxy"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/egress"
	"github.com/pushops/push-operator/relay/fake"
	"github.com/pushops/push-operator/relay/forward"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/retry"
)

// upstream is a stand-in for push.mattermost.com, served under the name upstream.test
// (which only the proxy can resolve) with a certificate from a throw-away CA.
type upstream struct {
	srv    *httptest.Server
	caFile string
	mu     sync.Mutex
	bodies [][]byte
	acks   [][]byte
	fails  map[string]int // device id (or ack id) → how many 503s to answer first
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	ca, err := fake.NewCA("upstream CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate("upstream.test")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{fails: map[string]int{}}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	u.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(u.caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/ack" && r.Method == http.MethodPost {
		u.ack(w, r)
		return
	}
	if r.URL.Path != "/api/v1/send_push" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var n push.Notification
	_ = json.Unmarshal(body, &n)
	answer := push.Response{Status: push.StatusOK}
	switch {
	case strings.HasPrefix(n.DeviceID, "dead"):
		answer.Status = push.StatusRemove
	case strings.HasPrefix(n.DeviceID, "bad"):
		answer = push.Response{Status: push.StatusFail, Error: "unknown send response error"}
	}
	u.answer(w, &u.bodies, body, n.DeviceID, answer)
}

// ack records an ack and answers like the reference: OK, or FAIL for an unknown id.
func (u *upstream) ack(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var a push.Ack
	_ = json.Unmarshal(body, &a)
	answer := push.Response{Status: push.StatusOK}
	if a.ID == "unknown" {
		answer = push.Response{Status: push.StatusFail, Error: "unknown ack id"}
	}
	u.answer(w, &u.acks, body, a.ID, answer)
}

// answer records body in *received and writes answer, or a 503 while fails[key] lasts.
func (u *upstream) answer(w http.ResponseWriter, received *[][]byte, body []byte, key string, answer push.Response) {
	u.mu.Lock()
	*received = append(*received, body)
	fail := u.fails[key] > 0
	if fail {
		u.fails[key]--
	}
	u.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		answer = push.Response{Status: push.StatusFail, Error: "overloaded"}
	}
	_ = json.NewEncoder(w).Encode(answer)
}

// sender builds a forward sender whose egress proxy is configured the way HTTPS_PROXY
// configures it (golang.org/x/net/http/httpproxy, as http.ProxyFromEnvironment), without
// touching the process environment.
func (u *upstream) sender(t *testing.T, proxy *fake.Proxy) *forward.Sender {
	t.Helper()
	_, port, _ := net.SplitHostPort(u.srv.Listener.Addr().String())
	proxy.Hosts["upstream.test"] = "127.0.0.1"
	env := httpproxy.Config{HTTPSProxy: proxy.URL().String(), NoProxy: "localhost"}
	proxyFor := env.ProxyFunc()
	var pf egress.ProxyFunc = func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) }
	s, err := forward.New("apple_rn", &config.Forward{UpstreamURL: "https://upstream.test:" + port + "/", CAFile: u.caFile},
		forward.Options{Retry: retry.Policy{Tries: 3, Base: time.Millisecond, PerTry: 2 * time.Second}, Proxy: pf,
			Metrics: metrics.New(), Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestForwardsThroughTheEgressProxy(t *testing.T) {
	u := newUpstream(t)
	proxy, err := fake.NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	s := u.sender(t, proxy)
	raw := []byte(`{"platform":"apple_rn-v2","server_id":"srv1","device_id":"dev1","type":"message","message":"hi","future_field":1}`)
	cases := []struct {
		name   string
		n      *push.Notification
		status push.Status
		reason string
		tries  int
		body   string
	}{
		{name: "the request as received", n: &push.Notification{Platform: "apple_rn", AppVersion: 2, DeviceID: "dev1", Raw: raw},
			status: push.StatusOK, tries: 1, body: string(raw)},
		{name: "re-encoded after the relay changed it keeps the -vN suffix",
			n:      &push.Notification{Platform: "apple_rn", AppVersion: 2, DeviceID: "dev2", ServerID: "srv1", Type: "message", Message: "[redacted]"},
			status: push.StatusOK, tries: 1, body: `{"ack_id":"","platform":"apple_rn-v2","server_id":"srv1","device_id":"dev2","message":"[redacted]","type":"message","is_crt_enabled":false,"is_id_loaded":false}`},
		{name: "upstream REMOVE", n: &push.Notification{Platform: "apple_rn", DeviceID: "dead1"}, status: push.StatusRemove, tries: 1},
		{name: "upstream FAIL", n: &push.Notification{Platform: "apple_rn", DeviceID: "bad1"},
			status: push.StatusFail, reason: "unknown send response error", tries: 1},
		{name: "upstream 503 twice, then OK", n: &push.Notification{Platform: "apple_rn", DeviceID: "flaky"}, status: push.StatusOK, tries: 3},
	}
	u.fails["flaky"] = 2
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u.mu.Lock()
			u.bodies = nil
			u.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res := s.Send(ctx, tc.n)
			if res.Status != tc.status || res.Reason != tc.reason || res.Tries != tc.tries {
				t.Errorf("got %+v, want %s %q after %d tries", res, tc.status, tc.reason, tc.tries)
			}
			u.mu.Lock()
			defer u.mu.Unlock()
			if tc.body != "" && (len(u.bodies) != 1 || string(u.bodies[0]) != tc.body) {
				t.Errorf("upstream received %q, want %q", u.bodies, tc.body)
			}
		})
	}
	targets := proxy.Targets()
	if len(targets) == 0 {
		t.Fatal("no request went through the proxy")
	}
	for _, tg := range targets {
		if !strings.HasPrefix(tg, "upstream.test:") {
			t.Errorf("proxy tunnelled to %q", tg)
		}
	}
}

func TestUpstreamDownFailsAfterRetries(t *testing.T) {
	proxy, err := fake.NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	u := newUpstream(t)
	s := u.sender(t, proxy)
	u.srv.Close() // the proxy answers 502 to CONNECT: a transport error for the client
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := s.Send(ctx, &push.Notification{Platform: "apple_rn", DeviceID: "dev"})
	if res.Status != push.StatusFail || res.Reason != "upstream transport error" || res.Tries != 3 {
		t.Errorf("got %+v, want FAIL upstream transport error after 3 tries", res)
	}
}

func TestRejectsUnusableUpstreamURLs(t *testing.T) {
	for _, u := range []string{"", "push.example.com", "ftp://push.example.com"} {
		if _, err := forward.New("x", &config.Forward{UpstreamURL: u}, forward.Options{}); err == nil {
			t.Errorf("upstream URL %q accepted", u)
		}
	}
}

func TestForwardsAcksUnchanged(t *testing.T) {
	u := newUpstream(t)
	proxy, err := fake.NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	s := u.sender(t, proxy)
	raw := []byte(`{"id":"ack1","received_at":1700000000000,"platform":"apple_rn-v2","type":"message","post_id":"p1","new_field":true}`)
	u.fails["flaky"] = 1
	cases := []struct {
		name   string
		ack    *push.Ack
		status push.Status
		reason string
		tries  int
		body   string
	}{
		{name: "the ack as received", ack: &push.Ack{ID: "ack1", Platform: "apple_rn", Type: "message", Raw: raw},
			status: push.StatusOK, tries: 1, body: string(raw)},
		{name: "encoded when there is no raw body", ack: &push.Ack{ID: "ack2", Platform: "apple_rn", Type: "clear"},
			status: push.StatusOK, tries: 1, body: `{"id":"ack2","received_at":0,"platform":"apple_rn","type":"clear","is_id_loaded":false}`},
		{name: "upstream FAIL", ack: &push.Ack{ID: "unknown", Platform: "apple_rn", Type: "message"},
			status: push.StatusFail, reason: "unknown ack id", tries: 1},
		{name: "upstream 503 once, then OK", ack: &push.Ack{ID: "flaky", Platform: "apple_rn", Type: "message"},
			status: push.StatusOK, tries: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u.mu.Lock()
			u.acks = nil
			u.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, forwarded := s.Ack(ctx, tc.ack)
			if !forwarded || res.Status != tc.status || res.Reason != tc.reason || res.Tries != tc.tries {
				t.Errorf("got %+v (forwarded %v), want %s %q after %d tries", res, forwarded, tc.status, tc.reason, tc.tries)
			}
			u.mu.Lock()
			defer u.mu.Unlock()
			if tc.body != "" && (len(u.acks) != 1 || string(u.acks[0]) != tc.body) {
				t.Errorf("upstream received %q, want %q", u.acks, tc.body)
			}
		})
	}
}
