package server

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
)

// recordingSender records what it is asked to send and answers with result, after
// waiting on release when set (to hold a send in flight).
type recordingSender struct {
	result  push.Result
	release chan struct{}
	started chan struct{}

	mu        sync.Mutex
	got       []push.Notification
	deadlines []time.Duration
}

func (s *recordingSender) Send(ctx context.Context, n *push.Notification) push.Result {
	s.mu.Lock()
	s.got = append(s.got, *n)
	if d, ok := ctx.Deadline(); ok {
		s.deadlines = append(s.deadlines, time.Until(d))
	}
	s.mu.Unlock()
	if s.started != nil {
		s.started <- struct{}{}
	}
	if s.release != nil {
		select {
		case <-s.release:
		case <-ctx.Done():
			return push.Result{Status: push.StatusFail, Reason: ctx.Err().Error()}
		}
	}
	return s.result
}

func (s *recordingSender) sent() []push.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]push.Notification(nil), s.got...)
}

// fakeRouter maps platforms to senders.
type fakeRouter struct {
	senders  map[string]push.Sender
	notReady error
}

func (r *fakeRouter) Lookup(p string) (push.Sender, bool) { s, ok := r.senders[p]; return s, ok }
func (r *fakeRouter) Ready() error                        { return r.notReady }

// testConfig is a valid configuration with apple_rn and android_rn apps.
func testConfig(mutate ...func(*config.Config)) *config.Config {
	c := &config.Config{Apps: []config.App{
		{Platform: "apple_rn", Kind: config.AppKindApple, APNs: &config.APNs{Topic: "com.example", CertificateFile: "/c.pem"}},
		{Platform: "android_rn", Kind: config.AppKindAndroid, FCM: &config.FCM{ServiceAccountFile: "/f.json"}},
	}}
	for _, m := range mutate {
		m(c)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

type harness struct {
	t       *testing.T
	srv     *Server
	metrics *metrics.Metrics
	apple   *recordingSender
	android *recordingSender
	router  *fakeRouter
	logs    *logSink
}

func newHarness(t *testing.T, cfg *config.Config) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		metrics: metrics.New(),
		apple:   &recordingSender{result: push.Result{Status: push.StatusOK, Tries: 1}},
		android: &recordingSender{result: push.Result{Status: push.StatusOK, Tries: 1}},
		logs:    &logSink{},
	}
	h.router = &fakeRouter{senders: map[string]push.Sender{"apple_rn": h.apple, "android_rn": h.android}}
	srv, err := New(Options{Config: cfg, Router: h.router, Metrics: h.metrics, Log: h.logs.logger(cfg.Log.Level == "debug")})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	return h
}

// do sends a request to the handler and returns status and body.
func (h *harness) do(method, path, body string, hdr ...string) (int, string) {
	h.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "10.0.0.7:41000"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

// logSink captures log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logger(debug bool) logr.Logger {
	v := 0
	if debug {
		v = 1
	}
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{Verbosity: v})
}

func (l *logSink) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

var errNotReady = errors.New(`app "apple_rn": loading APNs key: no such file`)
