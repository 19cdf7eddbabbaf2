// Package senders is the relay's per-app sender registry: it builds every app's push client
// from the configuration, answers which sender serves a platform, reports readiness, and
// reloads an app's client when its credential files change (a Kubernetes Secret update
// swaps the mounted files through a "..data" symlink). A new client replaces the old one
// atomically; sends in flight finish on the old one.
package senders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/pushops/push-operator/relay/apns"
	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/egress"
	"github.com/pushops/push-operator/relay/fcm"
	"github.com/pushops/push-operator/relay/forward"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/retry"
)

// catchAll is the metrics label and name of the forward sender for unknown platforms.
const catchAll = "*"

// defaultPollInterval is how often credential files are re-hashed besides file events
// (events can be missed, e.g. on some network file systems).
const defaultPollInterval = 10 * time.Second

// Set holds one sender per configured app, plus the catch-all forward sender.
type Set struct {
	apps     map[string]*app // by platform
	catchAll *app            // nil unless cfg.Forward is set
	all      []*app          // in configuration order, catch-all last
	log      logr.Logger
	opts     options
}

// Option tunes a Set (tests use them; the relay runs with the defaults).
type Option func(*options)

type options struct {
	proxy        egress.ProxyFunc
	retryBase    time.Duration
	pollInterval time.Duration
	closeDelay   time.Duration
}

// WithProxy sets the egress proxy of every sender instead of HTTPS_PROXY / NO_PROXY.
func WithProxy(p egress.ProxyFunc) Option { return func(o *options) { o.proxy = p } }

// WithRetryBase sets the first retry delay (default 1 s).
func WithRetryBase(d time.Duration) Option { return func(o *options) { o.retryBase = d } }

// WithPollInterval sets how often credential files are re-hashed (default 10 s).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// New builds every app's client. An app whose credentials fail to load is recorded (see
// Ready) and its sends FAIL with the reason; it is retried when its files change.
func New(cfg *config.Config, m *metrics.Metrics, log logr.Logger, opts ...Option) *Set {
	o := options{retryBase: retry.DefaultBase, pollInterval: defaultPollInterval}
	for _, f := range opts {
		f(&o)
	}
	policy := retry.Default(time.Duration(cfg.Timeouts.PerTry))
	policy.Base = o.retryBase
	// An old client may still be retrying a send for up to the whole send deadline.
	o.closeDelay = time.Duration(cfg.Timeouts.Send)
	if o.closeDelay <= 0 {
		o.closeDelay = 30 * time.Second
	}
	s := &Set{apps: map[string]*app{}, log: log, opts: o}
	b := builder{policy: policy, proxy: o.proxy, metrics: m, log: log}
	for _, ac := range cfg.Apps {
		a := newApp(ac.Platform, ac, b, m, log)
		s.apps[ac.Platform] = a
		s.all = append(s.all, a)
	}
	if cfg.Forward != nil {
		ac := config.App{Platform: catchAll, Kind: config.AppKindForward, Forward: cfg.Forward}
		s.catchAll = newApp(catchAll, ac, b, m, log)
		s.all = append(s.all, s.catchAll)
	}
	for _, a := range s.all {
		a.reload(o.closeDelay)
	}
	return s
}

// Lookup returns the sender for platform (without its "-vN" suffix). With a forward
// upstream configured, unknown platforms go to it.
func (s *Set) Lookup(platform string) (push.Sender, bool) {
	if a, ok := s.apps[platform]; ok {
		return a, true
	}
	if s.catchAll != nil {
		return s.catchAll, true
	}
	return nil, false
}

// Ready is nil when every configured app has a working client; otherwise it names each
// app without one and why. An app whose reload failed keeps its previous client and stays
// ready (the failure is logged and counted in relay_credential_reloads_total).
func (s *Set) Ready() error {
	var problems []string
	for _, a := range s.all {
		if err := a.problem(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", a.name(), err))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New("apps not ready: " + strings.Join(problems, "; "))
}

// Platforms lists the configured platform names (the catch-all excluded), sorted.
func (s *Set) Platforms() []string {
	var ps []string
	for p := range s.apps {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// Close releases every client's idle connections.
func (s *Set) Close() {
	for _, a := range s.all {
		a.close()
	}
}

// builder makes the sender for one app's configuration.
type builder struct {
	policy  retry.Policy
	proxy   egress.ProxyFunc
	metrics *metrics.Metrics
	log     logr.Logger
}

// built is a sender with what the registry needs to manage it.
type built struct {
	push.Sender
	close    func()
	notAfter time.Time // certificate expiry (APNs certificate auth), zero otherwise
}

func (b builder) build(ac config.App) (*built, error) {
	log := b.log.WithValues("platform", ac.Platform)
	switch ac.Kind {
	case config.AppKindApple:
		s, err := apns.New(ac.Platform, ac.APNs, apns.Options{Retry: b.policy, Proxy: b.proxy, Metrics: b.metrics, Log: log})
		if err != nil {
			return nil, err
		}
		return &built{Sender: s, close: s.Close, notAfter: s.CertificateExpiry()}, nil
	case config.AppKindAndroid:
		s, err := fcm.New(context.Background(), ac.Platform, ac.FCM, fcm.Options{Retry: b.policy, Proxy: b.proxy, Metrics: b.metrics, Log: log})
		if err != nil {
			return nil, err
		}
		return &built{Sender: s, close: s.Close}, nil
	case config.AppKindForward:
		s, err := forward.New(ac.Platform, ac.Forward, forward.Options{Retry: b.policy, Proxy: b.proxy, Metrics: b.metrics, Log: log})
		if err != nil {
			return nil, err
		}
		return &built{Sender: s, close: s.Close}, nil
	}
	return nil, fmt.Errorf("unknown app kind %q", ac.Kind)
}

// files are the app's credential files, whose changes trigger a reload.
func files(ac config.App) []string {
	var fs []string
	switch {
	case ac.APNs != nil:
		fs = []string{ac.APNs.AuthKeyFile, ac.APNs.CertificateFile, ac.APNs.CertificatePasswordFile, ac.APNs.CAFile}
	case ac.FCM != nil:
		fs = []string{ac.FCM.ServiceAccountFile, ac.FCM.CAFile}
	case ac.Forward != nil:
		fs = []string{ac.Forward.CAFile}
	}
	return slices.DeleteFunc(fs, func(f string) bool { return f == "" })
}
