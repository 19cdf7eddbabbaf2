package senders

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
)

// app is one platform's sender slot. It implements push.Sender by delegating to its current
// client, so a reload swaps the client under callers that already looked it up.
type app struct {
	platform string
	cfg      config.App
	files    []string
	builder  builder
	metrics  *metrics.Metrics
	log      logr.Logger

	current atomic.Pointer[built]

	mu       sync.Mutex // serialises reloads and guards the fields below
	hash     string     // credential files' content hash at the last attempt
	loadErr  error      // why the app has no client (nil once it has one)
	closed   bool
	retiring []*time.Timer
}

func newApp(platform string, ac config.App, b builder, m *metrics.Metrics, log logr.Logger) *app {
	return &app{platform: platform, cfg: ac, files: files(ac), builder: b, metrics: m, log: log.WithValues("platform", platform)}
}

func (a *app) name() string {
	if a.platform == catchAll {
		return "forward (unknown platforms)"
	}
	return a.platform
}

// Send delivers through the current client, or FAILs with why there is none.
func (a *app) Send(ctx context.Context, n *push.Notification) push.Result {
	if b := a.current.Load(); b != nil {
		return b.Send(ctx, n)
	}
	return push.Result{Status: push.StatusFail, Reason: fmt.Sprintf("app %s is not ready: credentials did not load", a.name())}
}

// Ack passes an ack to the current client when that client forwards acks upstream.
func (a *app) Ack(ctx context.Context, ack *push.Ack) (push.Result, bool) {
	b := a.current.Load()
	if b == nil {
		return push.Result{}, false
	}
	acker, ok := b.Sender.(push.Acker)
	if !ok {
		return push.Result{}, false
	}
	return acker.Ack(ctx, ack)
}

func (a *app) problem() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.current.Load() != nil {
		return nil
	}
	if a.loadErr == nil {
		return errors.New("not initialised")
	}
	return a.loadErr
}

// reload builds a new client when the credential files changed since the last attempt
// (always on the first call). Files are hashed before and after building so a build that
// raced with a Secret update is redone rather than kept with half-old credentials.
func (a *app) reload(closeDelay time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	first := a.hash == ""
	for range 3 {
		before := hashFiles(a.files)
		if before == a.hash {
			return
		}
		b, err := a.builder.build(a.cfg)
		after := hashFiles(a.files)
		if after != before {
			if b != nil {
				b.close()
			}
			continue // the files changed while we read them: read them again
		}
		a.hash = before
		a.settle(b, err, first, closeDelay)
		return
	}
}

// settle installs a newly built client, or records why building failed.
func (a *app) settle(b *built, err error, first bool, closeDelay time.Duration) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	if !first {
		a.metrics.CredentialReloads.WithLabelValues(a.platform, result).Inc()
	}
	old := a.current.Load()
	switch {
	case err != nil && old != nil:
		a.log.Error(err, "credential reload failed; the previous client keeps serving")
		return
	case err != nil:
		a.loadErr = err
		a.metrics.AppReady.WithLabelValues(a.platform).Set(0)
		a.log.Error(err, "app credentials did not load; its pushes FAIL until they do")
		return
	}
	a.current.Store(b)
	a.loadErr = nil
	a.metrics.AppReady.WithLabelValues(a.platform).Set(1)
	a.metrics.EnvironmentMismatch.WithLabelValues(a.platform).Set(0) // the new client's guard starts afresh
	if !b.notAfter.IsZero() {
		a.metrics.CredentialExpiry.WithLabelValues(a.platform).Set(float64(b.notAfter.Unix()))
	}
	if old != nil {
		a.log.Info("credentials reloaded")
		// In-flight sends (retries included) may use the old client until the send deadline.
		a.retiring = append(a.retiring, time.AfterFunc(closeDelay, old.close))
	}
}

func (a *app) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, t := range a.retiring {
		t.Stop()
	}
	if b := a.current.Load(); b != nil {
		b.close()
	}
}

// hashFiles fingerprints the files' contents (a missing file fingerprints as missing), so
// only real changes trigger a reload, whatever events the file system reports.
func hashFiles(files []string) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00", f)
		file, err := os.Open(f)
		if err != nil {
			fmt.Fprintf(h, "error:%v\x00", errors.Unwrap(err))
			continue
		}
		_, err = io.Copy(h, file)
		file.Close()
		if err != nil {
			fmt.Fprintf(h, "error:%v\x00", err)
		}
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
