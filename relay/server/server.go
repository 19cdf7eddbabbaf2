// Package server is the relay's HTTP API, wire-compatible with the Mattermost push proxy:
// POST /api/v1/send_push and /api/v1/ack for chat servers, plus /version, /metrics,
// /healthz, /readyz and a banner. A push goes through one short pipeline — authenticate,
// decode, throttle, validate, apply the content ceiling, route to its app's sender —
// and every request ends in one place that counts it and one place that answers it.
package server

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pushops/push-operator/relay/callerauth"
	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/throttle"
)

// MaxBodyBytes bounds a request body. A chat server's push is a few KB; 1 MiB leaves room
// for any message it may send before the relay truncates it, and refuses abuse with 413.
const MaxBodyBytes = 1 << 20

// Router finds the sender for a platform. relay/senders.Set implements it; tests use
// small fakes.
type Router interface {
	// Lookup returns the sender for a platform name (without its "-vN" suffix), or false
	// when no app or forward is configured for it.
	Lookup(platform string) (push.Sender, bool)
	// Ready returns nil when every configured app's client is initialised, else why not.
	Ready() error
}

// Options are what a Server is built from.
type Options struct {
	// Config is the loaded, validated configuration (defaults applied).
	Config *config.Config
	// Router routes pushes to senders.
	Router Router
	// Metrics receives every count; /metrics serves its registry when enabled.
	Metrics *metrics.Metrics
	// Log is the relay's logger; debug is V(1).
	Log logr.Logger
}

// Server is the relay's HTTP API. Create it with New; serve Handler() or use Serve.
type Server struct {
	cfg      *config.Config
	router   Router
	metrics  *metrics.Metrics
	log      logr.Logger
	auth     *callerauth.Checker
	limiter  *throttle.Limiter // nil when throttling is off
	draining atomic.Bool
	handler  http.Handler
}

// New builds a Server.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Router == nil || o.Metrics == nil {
		return nil, errors.New("server: Config, Router and Metrics are required")
	}
	s := &Server{
		cfg:     o.Config,
		router:  o.Router,
		metrics: o.Metrics,
		log:     o.Log,
		auth:    callerauth.New(o.Config.CallerAuth, o.Config.TLS != nil && o.Config.CallerAuth.ClientCAFile != ""),
	}
	if t := o.Config.Throttle; t.Enabled() {
		s.limiter = throttle.New(t.PerSecond, t.Burst, t.MaxCallers)
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the relay's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Drain makes /readyz fail so that load balancers stop sending new requests; the server
// keeps serving until it is shut down.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/send_push", only(http.MethodPost, http.HandlerFunc(s.sendPush)))
	mux.Handle("/api/v1/ack", only(http.MethodPost, http.HandlerFunc(s.ack)))
	mux.Handle("/version", only(http.MethodGet, http.HandlerFunc(version)))
	mux.Handle("/healthz", only(http.MethodGet, http.HandlerFunc(healthz)))
	mux.Handle("/readyz", only(http.MethodGet, http.HandlerFunc(s.readyz)))
	if s.cfg.MetricsEnabled() {
		mux.Handle("/metrics", only(http.MethodGet, promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})))
	}
	mux.Handle("/{$}", only(http.MethodGet, http.HandlerFunc(banner)))
	return mux
}

// only refuses other methods with 405 and a JSON FAIL body (chat servers decode every
// answer as JSON). HEAD is allowed wherever GET is.
func only(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeJSON(w, http.StatusMethodNotAllowed, push.Response{Status: push.StatusFail,
				Error: fmt.Sprintf("method %s not allowed: use %s", r.Method, method)})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func healthz(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok\n") }

// readyz is 200 only while the relay can deliver: not shutting down and every app's
// client initialised. The body says why not, for `kubectl describe` and status conditions.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "not ready: shutting down\n")
		return
	}
	if err := s.router.Ready(); err != nil {
		writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
		return
	}
	writeText(w, http.StatusOK, "ok\n")
}

func banner(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = fmt.Fprintf(w, "<html><body>Mattermost-compatible push relay %s</body></html>\n", Version)
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
