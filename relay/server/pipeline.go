package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pushops/push-operator/relay/callerauth"
	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/policy"
	"github.com/pushops/push-operator/relay/push"
)

// stage is where a request left the pipeline; it decides what is counted.
type stage int

const (
	stageAuth      stage = iota // refused by caller authentication
	stageBadInput               // unreadable, too large, undecodable or invalid
	stageThrottled              // over the caller's rate
	stageSent                   // handed to a sender, which answered
	stageAcked                  // an ack recorded
)

// outcome is everything the answer and the metrics need about one request.
type outcome struct {
	stage      stage
	httpStatus int
	resp       push.Response
	authReason string

	n             *push.Notification
	ack           *push.Ack
	result        push.Result
	policyApplied bool
	sendDuration  time.Duration
}

func refused(rej *callerauth.Rejection) outcome {
	o := fail(stageAuth, rej.Status, rej.Message)
	o.authReason = rej.Reason
	return o
}

func fail(st stage, httpStatus int, reason string) outcome {
	return outcome{stage: st, httpStatus: httpStatus, resp: push.Response{Status: push.StatusFail, Error: reason}}
}

// sendPush is POST /api/v1/send_push.
func (s *Server) sendPush(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o := s.deliver(r)
	s.record(o, time.Since(start))
	s.answer(w, o)
}

// ack is POST /api/v1/ack. Acks are not throttled: they confirm pushes already sent.
func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o := s.acknowledge(r)
	s.record(o, time.Since(start))
	s.answer(w, o)
}

// deliver is the push pipeline: authenticate → read → decode → authorise server → throttle
// → validate → content ceiling → send.
func (s *Server) deliver(r *http.Request) outcome {
	if rej := s.auth.CheckTransport(r); rej != nil {
		return refused(rej)
	}
	body, o, ok := readBody(r)
	if !ok {
		return o
	}
	n, err := decodeNotification(body)
	if err != nil {
		if !s.allow(r, nil) {
			return s.throttled(r, nil)
		}
		return fail(stageBadInput, http.StatusOK, err.Error())
	}
	if rej := s.auth.CheckServerID(n.ServerID); rej != nil {
		return refused(rej)
	}
	if !s.allow(r, n) {
		return s.throttled(r, n)
	}
	sender, found := s.router.Lookup(n.Platform)
	if err := validateNotification(n, func(string) bool { return found }); err != nil {
		return fail(stageBadInput, http.StatusOK, err.Error())
	}
	applied := policy.Apply(s.cfg.ContentPolicy, n)
	return s.send(r.Context(), sender, n, applied)
}

// send hands the push to its sender within the send deadline. The deadline does not follow
// the caller's connection: a push accepted is delivered even if the caller gives up.
func (s *Server) send(ctx context.Context, sender push.Sender, n *push.Notification, applied bool) outcome {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeouts.Send.Std())
	defer cancel()
	s.metrics.InFlight.Inc()
	start := time.Now()
	res := sender.Send(ctx, n)
	took := time.Since(start)
	s.metrics.InFlight.Dec()

	o := outcome{stage: stageSent, httpStatus: http.StatusOK, n: n, result: res, policyApplied: applied, sendDuration: took}
	switch res.Status {
	case push.StatusOK:
		o.resp = push.Response{Status: push.StatusOK}
	case push.StatusRemove:
		o.resp = push.Response{Status: push.StatusRemove}
	default:
		reason := res.Reason
		if reason == "" {
			reason = "delivery failed"
		}
		o.result.Status, o.result.Reason = push.StatusFail, reason
		o.resp = push.Response{Status: push.StatusFail, Error: reason}
	}
	s.logSend(o)
	return o
}

// acknowledge is the ack pipeline: authenticate → read → decode and validate → pass on
// (forward mode) → record.
func (s *Server) acknowledge(r *http.Request) outcome {
	if rej := s.auth.CheckTransport(r); rej != nil {
		return refused(rej)
	}
	body, o, ok := readBody(r)
	if !ok {
		return o
	}
	a, err := decodeAck(body)
	if err != nil {
		return fail(stageBadInput, http.StatusOK, err.Error())
	}
	acked := outcome{stage: stageAcked, httpStatus: http.StatusOK, ack: a, resp: push.Response{Status: push.StatusOK}}
	if sender, ok := s.router.Lookup(a.Platform); ok {
		if acker, ok := sender.(push.Acker); ok {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.Timeouts.Send.Std())
			defer cancel()
			if res, forwarded := acker.Ack(ctx, a); forwarded && res.Status != push.StatusOK {
				acked.resp = push.Response{Status: push.StatusFail, Error: res.Reason}
			}
		}
	}
	return acked
}

func readBody(r *http.Request) ([]byte, outcome, bool) {
	body, err := readAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes), r.ContentLength)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fail(stageBadInput, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes)), false
	case err != nil:
		return nil, fail(stageBadInput, http.StatusOK, "failed to read the request body: "+err.Error()), false
	}
	return body, outcome{}, true
}

// readAll is io.ReadAll with the buffer sized from Content-Length when the caller sent one
// (the chat server does), so a body is read in one allocation instead of a growing series.
// net/http ends a body at its Content-Length, so no more than that can arrive.
func readAll(r io.Reader, contentLength int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > MaxBodyBytes {
		return io.ReadAll(r)
	}
	b := make([]byte, contentLength)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *Server) allow(r *http.Request, n *push.Notification) bool {
	return s.limiter == nil || s.limiter.Allow(s.callerKey(r, n))
}

func (s *Server) throttled(r *http.Request, n *push.Notification) outcome {
	return fail(stageThrottled, http.StatusTooManyRequests,
		fmt.Sprintf("too many requests from caller %s: over %g per second", s.callerKey(r, n), s.cfg.Throttle.PerSecond))
}

// callerKey identifies the caller for throttling: its server_id, else the configured
// header, else the remote address. (The reference keys only on a header the chat server
// never sends, so all its traffic shares one bucket.)
func (s *Server) callerKey(r *http.Request, n *push.Notification) string {
	if n != nil && n.ServerID != "" {
		return "server_id " + n.ServerID
	}
	if h := s.cfg.Throttle.VaryByHeader; h != "" {
		if v, _, _ := strings.Cut(r.Header.Get(h), ","); strings.TrimSpace(v) != "" {
			return h + " " + strings.TrimSpace(v)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "address " + host
}

// record is the one place that counts requests.
func (s *Server) record(o outcome, took time.Duration) {
	m := s.metrics
	m.RequestDuration.Observe(took.Seconds())
	switch o.stage {
	case stageAuth:
		m.AuthRejections.WithLabelValues(o.authReason).Inc()
		s.log.Info("caller refused", "reason", o.authReason)
	case stageBadInput:
		m.BadRequest.Inc()
		s.log.V(1).Info("bad request", "error", o.resp.Error)
	case stageThrottled:
		m.Throttled.Inc()
	case stageAcked:
		m.Delivered.WithLabelValues(s.platformLabel(o.ack.Platform), typeLabel(o.ack.Type)).Inc()
	case stageSent:
		platform, typ := s.platformLabel(o.n.Platform), typeLabel(o.n.Type)
		m.Notifications.WithLabelValues(platform, typ).Inc()
		m.NotificationsByAppVer.WithLabelValues(platform, typ, strconv.Itoa(o.n.AppVersion)).Inc()
		m.NotificationDuration.WithLabelValues(platform, typ).Observe(o.sendDuration.Seconds())
		if o.policyApplied {
			m.ContentPolicyApplied.WithLabelValues(string(s.cfg.ContentPolicy)).Inc()
		}
		switch o.result.Status {
		case push.StatusOK:
			m.Success.WithLabelValues(platform, typ).Inc()
			if o.n.AckID != "" {
				m.SuccessWithAck.WithLabelValues(platform, typ).Inc()
			}
		case push.StatusRemove:
			m.Removal.WithLabelValues(platform, reasonLabel(o.result.Reason)).Inc()
		default:
			m.Failure.WithLabelValues(platform, typ).Inc()
			m.FailureWithReason.WithLabelValues(platform, typ, reasonLabel(o.result.Reason)).Inc()
		}
	}
}

// The answers nearly every request gets, encoded once (as json.Encoder would, with its
// trailing newline).
var (
	answerOK     = []byte(`{"status":"OK"}` + "\n")
	answerRemove = []byte(`{"status":"REMOVE"}` + "\n")
)

// answer is the one place that writes push API answers.
func (s *Server) answer(w http.ResponseWriter, o outcome) {
	if o.httpStatus == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	var fixed []byte
	switch {
	case o.httpStatus != http.StatusOK || o.resp.Error != "":
	case o.resp.Status == push.StatusOK:
		fixed = answerOK
	case o.resp.Status == push.StatusRemove:
		fixed = answerRemove
	}
	if fixed == nil {
		writeJSON(w, o.httpStatus, o.resp)
		return
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(fixed))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(fixed)
}

var jsonContentType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// logSend writes the one line per send: debug for a delivered push, info otherwise. The
// message text appears only at debug and only when the content ceiling lets it leave.
func (s *Server) logSend(o outcome) {
	n := o.n
	l := s.log
	if o.result.Status == push.StatusOK {
		l = l.V(1)
	}
	if !l.Enabled() {
		return
	}
	kv := []any{"platform", n.Platform, "type", n.Type, "device", truncateToken(n.DeviceID), "server_id", n.ServerID,
		"ack_id", n.AckID, "status", o.result.Status, "reason", o.result.Reason, "tries", o.result.Tries, "duration", o.sendDuration}
	if s.log.V(1).Enabled() && s.cfg.ContentPolicy == config.ContentFull {
		kv = append(kv, "msg_len", len(n.Message), "message", n.Message)
	}
	l.Info("Sending push notification", kv...)
}

// knownTypes keeps the type label bounded whatever callers send.
var knownTypes = map[string]bool{push.TypeMessage: true, push.TypeClear: true, push.TypeUpdateBadge: true, push.TypeSession: true, push.TypeTest: true}

func typeLabel(t string) string {
	if knownTypes[t] {
		return t
	}
	if t == "" {
		return push.TypeMessage
	}
	return "other"
}

// reasonWord is what a reason label may look like: APNs reasons and FCM codes
// ("BadDeviceToken", "UNREGISTERED"). Free text — an upstream's FAIL message in forward
// mode, an error with ids in it — would mint a series per message.
var reasonWord = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,48}$`)

func reasonLabel(r string) string {
	if reasonWord.MatchString(r) {
		return r
	}
	return "other"
}

// officialPlatforms are the platform names the published apps register; with a forward
// upstream they reach the relay without being configured.
var officialPlatforms = map[string]bool{"apple": true, "apple_rn": true, "android": true, "android_rn": true,
	"apple_voip_rn": true, "apple_rnbeta": true, "android_rnbeta": true, "apple_voip_rnbeta": true}

// platformLabel keeps the platform label bounded whatever callers send (a forward upstream
// accepts any platform name): configured and official names, else "other".
func (s *Server) platformLabel(p string) string {
	if officialPlatforms[p] {
		return p
	}
	for _, a := range s.cfg.Apps {
		if a.Platform == p {
			return p
		}
	}
	return "other"
}
