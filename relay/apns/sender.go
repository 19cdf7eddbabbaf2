package apns

import (
	"context"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/sideshow/apns2"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/egress"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/retry"
)

// Options are the sender's tunables beyond the app's configuration.
type Options struct {
	// Retry is the retry policy (per-try timeout included).
	Retry retry.Policy
	// Proxy overrides the egress proxy (nil: HTTPS_PROXY / NO_PROXY from the environment).
	Proxy   egress.ProxyFunc
	Metrics *metrics.Metrics
	Log     logr.Logger
}

// Sender delivers one app's pushes to APNs.
type Sender struct {
	platform string
	form     Form
	client   *client
	guard    envGuard
	opts     Options
}

// New loads the app's credentials and builds its sender. It fails when the credentials
// cannot be loaded; the error says what to fix.
func New(platform string, c *config.APNs, o Options) (*Sender, error) {
	cl, err := newClient(c, o.Proxy)
	if err != nil {
		return nil, err
	}
	s := &Sender{
		platform: platform,
		form:     Form{Topic: c.Topic, VoIP: c.VoIP, Background: c.BackgroundPushType},
		client:   cl,
		opts:     o,
	}
	return s, nil
}

// CertificateExpiry is when the app's certificate expires (zero for token auth).
func (s *Sender) CertificateExpiry() time.Time { return s.client.notAfter }

// Close releases idle connections; in-flight sends finish.
func (s *Sender) Close() { s.client.close() }

// Send delivers n, retrying transport errors and 429/500/503 within ctx's deadline.
func (s *Sender) Send(ctx context.Context, n *push.Notification) push.Result {
	note := Notification(n, s.form)
	onRetry := func() { s.opts.Metrics.Retries.WithLabelValues(s.platform, "apns").Inc() }
	return s.opts.Retry.Run(ctx, onRetry, func(ctx context.Context) (push.Result, bool) {
		start := time.Now()
		res, err := s.client.PushWithContext(ctx, note)
		s.opts.Metrics.APNsRequestDuration.WithLabelValues(s.platform).Observe(time.Since(start).Seconds())
		if err != nil {
			s.opts.Log.V(1).Info("APNs request failed", "platform", s.platform,
				"device", egress.ShortToken(n.DeviceID), "error", egress.Describe(err))
			return push.Result{Status: push.StatusFail, Reason: egress.ErrorKind(err)}, true
		}
		return s.judge(n, res)
	})
}

// judge turns Apple's answer into a result and whether to try again.
func (s *Sender) judge(n *push.Notification, res *apns2.Response) (push.Result, bool) {
	if res.Sent() {
		if s.guard.delivered() {
			s.opts.Metrics.EnvironmentMismatch.WithLabelValues(s.platform).Set(0)
			s.opts.Log.Info("APNs delivers again; environment guard cleared", "platform", s.platform)
		}
		return push.Result{Status: push.StatusOK}, false
	}
	reason := res.Reason
	if reason == "" {
		reason = http.StatusText(res.StatusCode)
	}
	switch reason {
	case apns2.ReasonBadDeviceToken:
		return s.badDeviceToken(), false
	case apns2.ReasonDeviceTokenNotForTopic:
		s.guard.other()
		if n.Transport == push.TransportVoIP && !s.form.VoIP {
			// The chat server asked for PushKit but the token is not a PushKit token for
			// "<bundle>.voip": the device is alive for standard pushes, and REMOVE would
			// make the server stop sending it any.
			return push.Result{Status: push.StatusFail, Reason: reason + " (transport voip: not a PushKit token for " + s.form.Topic + ".voip)"}, false
		}
		return push.Result{Status: push.StatusRemove, Reason: reason}, false
	case apns2.ReasonUnregistered, apns2.ReasonMissingDeviceToken:
		s.guard.other()
		return push.Result{Status: push.StatusRemove, Reason: reason}, false
	}
	s.guard.other()
	s.opts.Log.V(1).Info("APNs rejected push", "platform", s.platform, "device", egress.ShortToken(n.DeviceID),
		"status", res.StatusCode, "reason", reason, "apnsID", res.ApnsID)
	switch res.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable:
		return push.Result{Status: push.StatusFail, Reason: reason}, true
	}
	return push.Result{Status: push.StatusFail, Reason: reason}, false
}

func (s *Sender) badDeviceToken() push.Result {
	v := s.guard.badDeviceToken()
	if v.trippedUp {
		s.opts.Metrics.EnvironmentMismatch.WithLabelValues(s.platform).Set(1)
		s.opts.Log.Error(nil, "APNs answers BadDeviceToken for every device; holding back REMOVE answers",
			"platform", s.platform, "host", s.client.Host,
			"hint", "check the app's environment (production for App Store/TestFlight builds, development for debug builds)")
	}
	switch {
	case v.remove:
		return push.Result{Status: push.StatusRemove, Reason: apns2.ReasonBadDeviceToken}
	case v.tripped:
		return push.Result{Status: push.StatusFail, Reason: MismatchReason}
	default:
		return push.Result{Status: push.StatusFail, Reason: unconfirmedReason}
	}
}
