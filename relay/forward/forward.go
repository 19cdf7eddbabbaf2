// Package forward relays pushes unchanged to an upstream Mattermost-compatible push
// service (e.g. the hosted https://push.mattermost.com) and returns its answer: the relay
// as the cluster's single egress point for push traffic.
package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/egress"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/retry"
)

// The upstream routes, as the chat server builds them.
const (
	sendPath = "/api/v1/send_push"
	ackPath  = "/api/v1/ack"
)

// userAgent says who relays, beside what the chat server would send.
const userAgent = "Mattermost-Bot/1.1 push-relay"

// maxAnswer bounds how much of the upstream's answer is read.
const maxAnswer = 64 << 10

// Options are the sender's tunables beyond the configuration.
type Options struct {
	Retry   retry.Policy
	Proxy   egress.ProxyFunc
	Metrics *metrics.Metrics
	Log     logr.Logger
}

// Sender forwards one platform's (or every unknown platform's) pushes upstream.
type Sender struct {
	platform  string // metrics label ("*" for the catch-all)
	url       string // send_push
	ackURL    string
	client    *http.Client
	transport *http.Transport
	opts      Options
}

// New builds a forward sender for platform.
func New(platform string, c *config.Forward, o Options) (*Sender, error) {
	if c == nil || c.UpstreamURL == "" {
		return nil, errors.New("forward.upstreamURL is empty")
	}
	u, err := url.Parse(c.UpstreamURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("forward.upstreamURL %q is not an http(s) URL", c.UpstreamURL)
	}
	tr, err := egress.Transport(egress.Options{Proxy: o.Proxy, CAFile: c.CAFile})
	if err != nil {
		return nil, err
	}
	return &Sender{
		platform:  platform,
		url:       strings.TrimRight(c.UpstreamURL, "/") + sendPath,
		ackURL:    strings.TrimRight(c.UpstreamURL, "/") + ackPath,
		client:    &http.Client{Transport: tr},
		transport: tr,
		opts:      o,
	}, nil
}

// Close releases idle connections.
func (s *Sender) Close() { s.transport.CloseIdleConnections() }

// Send relays n and returns the upstream's answer, retrying transport errors, 429 and 5xx.
func (s *Sender) Send(ctx context.Context, n *push.Notification) push.Result {
	body, err := Body(n)
	if err != nil {
		return push.Result{Status: push.StatusFail, Reason: "cannot encode the notification", Tries: 0}
	}
	return s.relay(ctx, s.url, body, "device", egress.ShortToken(n.DeviceID))
}

// relay posts body to url with retries, timing each try, and returns the upstream's
// answer. what/which name the request in the debug line of an unreachable upstream.
func (s *Sender) relay(ctx context.Context, url string, body []byte, what, which string) push.Result {
	onRetry := func() { s.opts.Metrics.Retries.WithLabelValues(s.platform, "forward").Inc() }
	return s.opts.Retry.Run(ctx, onRetry, func(ctx context.Context) (push.Result, bool) {
		start := time.Now()
		res, retryable, err := s.post(ctx, url, body)
		s.opts.Metrics.ForwardRequestDuration.WithLabelValues(s.platform).Observe(time.Since(start).Seconds())
		if err != nil {
			s.opts.Log.V(1).Info("upstream push service unreachable", "platform", s.platform, what, which, "error", egress.Describe(err))
		}
		return res, retryable
	})
}

// Ack passes the ack upstream unchanged, so the upstream's delivery counts stay whole, and
// returns its answer, retrying like Send.
func (s *Sender) Ack(ctx context.Context, a *push.Ack) (push.Result, bool) {
	body := a.Raw
	if body == nil {
		var err error
		if body, err = json.Marshal(a); err != nil {
			return push.Result{Status: push.StatusFail, Reason: "cannot encode the ack"}, true
		}
	}
	return s.relay(ctx, s.ackURL, body, "ack", a.ID), true
}

// Body is what goes upstream: the request as received, or (when the relay changed the
// notification, e.g. its content policy) the notification re-encoded with its "-vN"
// platform suffix restored.
func Body(n *push.Notification) ([]byte, error) {
	if n.Raw != nil {
		return n.Raw, nil
	}
	c := *n
	if c.AppVersion > 0 {
		c.Platform = fmt.Sprintf("%s-v%d", c.Platform, c.AppVersion)
	}
	return json.Marshal(&c)
}

func (s *Sender) post(ctx context.Context, url string, body []byte) (push.Result, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return push.Result{Status: push.StatusFail, Reason: "bad upstream URL"}, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return push.Result{Status: push.StatusFail, Reason: "upstream " + egress.ErrorKind(err)}, true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return push.Result{Status: push.StatusFail, Reason: "upstream " + egress.ErrorKind(err)}, true, err
	}
	retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	var answer push.Response
	if json.Unmarshal(raw, &answer) != nil || resp.StatusCode != http.StatusOK {
		reason := fmt.Sprintf("upstream answered HTTP %d", resp.StatusCode)
		if answer.Error != "" {
			reason += ": " + answer.Error
		}
		return push.Result{Status: push.StatusFail, Reason: reason}, retryable, nil
	}
	switch answer.Status {
	case push.StatusOK, push.StatusRemove:
		return push.Result{Status: answer.Status, Reason: answer.Error}, false, nil
	case push.StatusFail:
		return push.Result{Status: push.StatusFail, Reason: answer.Error}, false, nil
	}
	return push.Result{Status: push.StatusFail, Reason: fmt.Sprintf("upstream answered status %q", answer.Status)}, false, nil
}
