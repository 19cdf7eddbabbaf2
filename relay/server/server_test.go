package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/policy"
	"github.com/pushops/push-operator/relay/push"
)

const applePush = `{"ack_id":"ack1","platform":"apple_rn-v2","server_id":"srv1","device_id":"0123456789abcdef","post_id":"p1",
	"message":"alice: secret plans","channel_name":"Ops","sender_name":"alice","badge":2,"type":"message","version":"v2","is_crt_enabled":false,"is_id_loaded":false,"signature":"sig"}`

func decodeResponse(t *testing.T, body string) push.Response {
	t.Helper()
	var r push.Response
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("answer %q is not JSON: %v", body, err)
	}
	return r
}

func TestSendPushAnswers(t *testing.T) {
	cases := []struct {
		name       string
		result     push.Result
		wantStatus push.Status
		wantError  string
	}{
		{"delivered", push.Result{Status: push.StatusOK, Tries: 1}, push.StatusOK, ""},
		{"dead token", push.Result{Status: push.StatusRemove, Reason: "Unregistered"}, push.StatusRemove, ""},
		{"rejected", push.Result{Status: push.StatusFail, Reason: "TopicDisallowed"}, push.StatusFail, "TopicDisallowed"},
		{"failed without a reason", push.Result{Status: push.StatusFail}, push.StatusFail, "delivery failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.apple.result = tc.result
			code, body := h.do(http.MethodPost, "/api/v1/send_push", applePush) // no Content-Type, as the chat server
			if code != http.StatusOK {
				t.Fatalf("HTTP %d", code)
			}
			if got := decodeResponse(t, body); got.Status != tc.wantStatus || got.Error != tc.wantError {
				t.Fatalf("answer %+v, want %s %q", got, tc.wantStatus, tc.wantError)
			}
			sent := h.apple.sent()
			if len(sent) != 1 || sent[0].Platform != "apple_rn" || sent[0].AppVersion != 2 || sent[0].DeviceID != "0123456789abcdef" {
				t.Fatalf("sender got %+v", sent)
			}
			m := h.metrics
			if got := testutil.ToFloat64(m.Notifications.WithLabelValues("apple_rn", "message")); got != 1 {
				t.Errorf("service_notifications_total = %v", got)
			}
			if got := testutil.ToFloat64(m.NotificationsByAppVer.WithLabelValues("apple_rn", "message", "2")); got != 1 {
				t.Errorf("service_notifications_by_app_version_total = %v", got)
			}
			want := map[push.Status]float64{}
			want[tc.wantStatus] = 1
			if got := testutil.ToFloat64(m.Success.WithLabelValues("apple_rn", "message")); got != want[push.StatusOK] {
				t.Errorf("success = %v", got)
			}
			if got := testutil.ToFloat64(m.SuccessWithAck.WithLabelValues("apple_rn", "message")); got != want[push.StatusOK] {
				t.Errorf("success with ack = %v", got)
			}
			if got := testutil.ToFloat64(m.Removal.WithLabelValues("apple_rn", reasonLabel(tc.result.Reason))); got != want[push.StatusRemove] {
				t.Errorf("removal = %v", got)
			}
			if got := testutil.ToFloat64(m.FailureWithReason.WithLabelValues("apple_rn", "message", reasonLabel(tc.wantError))); got != want[push.StatusFail] {
				t.Errorf("failure with reason = %v", got)
			}
			if got := testutil.ToFloat64(m.InFlight); got != 0 {
				t.Errorf("in flight = %v after the send", got)
			}
		})
	}
}

func TestSendPushValidationAnswers200Fail(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"not JSON", `{"platform":`, "failed to decode the push notification JSON"},
		{"missing server_id", `{"platform":"apple_rn","device_id":"d"}`, "missing server_id"},
		{"missing device_id", `{"platform":"apple_rn","server_id":"s"}`, "missing device_id"},
		{"unknown platform", `{"platform":"windows_phone-v2","server_id":"s","device_id":"d"}`, `no app is configured for platform "windows_phone"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			code, body := h.do(http.MethodPost, "/api/v1/send_push", tc.body)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d, want 200 (the chat server treats any other status as an error and loses the reason)", code)
			}
			if r := decodeResponse(t, body); r.Status != push.StatusFail || !strings.Contains(r.Error, tc.want) {
				t.Fatalf("answer %+v, want FAIL %q", r, tc.want)
			}
			if got := testutil.ToFloat64(h.metrics.BadRequest); got != 1 {
				t.Errorf("service_bad_request_total = %v", got)
			}
			if len(h.apple.sent())+len(h.android.sent()) != 0 {
				t.Error("an invalid push was sent")
			}
		})
	}
}

func TestTransportRefusals(t *testing.T) {
	h := newHarness(t, testConfig())
	big := `{"message":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	code, body := h.do(http.MethodPost, "/api/v1/send_push", big)
	if code != http.StatusRequestEntityTooLarge || decodeResponse(t, body).Status != push.StatusFail {
		t.Errorf("oversized body: HTTP %d %s", code, body)
	}
	code, body = h.do(http.MethodGet, "/api/v1/send_push", "")
	if code != http.StatusMethodNotAllowed || decodeResponse(t, body).Status != push.StatusFail {
		t.Errorf("GET send_push: HTTP %d %s", code, body)
	}
	if code, _ = h.do(http.MethodPost, "/healthz", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: HTTP %d", code)
	}
	if code, _ = h.do(http.MethodGet, "/nope", ""); code != http.StatusNotFound {
		t.Errorf("unknown path: HTTP %d", code)
	}
}

func TestThrottlePerCaller(t *testing.T) {
	h := newHarness(t, testConfig(func(c *config.Config) {
		c.Throttle = config.Throttle{PerSecond: 0.001, Burst: 2, VaryByHeader: "X-Forwarded-For"}
	}))
	push1 := func(serverID string, hdr ...string) int {
		code, body := h.do(http.MethodPost, "/api/v1/send_push", `{"platform":"android_rn","server_id":"`+serverID+`","device_id":"d"}`, hdr...)
		if r := decodeResponse(t, body); code == http.StatusTooManyRequests && (r.Status != push.StatusFail || !strings.Contains(r.Error, "too many requests")) {
			t.Fatalf("429 answer %+v", r)
		}
		return code
	}
	got := []int{push1("a"), push1("a"), push1("a"), push1("b")}
	want := []int{200, 200, 429, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("codes %v, want %v: callers must have their own buckets", got, want)
		}
	}
	// Without a server_id the header, then the remote address, keys the caller.
	if a, b, c := push1("", "X-Forwarded-For", "1.1.1.1, 10.0.0.1"), push1("", "X-Forwarded-For", "1.1.1.1"), push1("", "X-Forwarded-For", "1.1.1.1"); a != 200 || b != 200 || c != 429 {
		t.Fatalf("header-keyed codes %d %d %d", a, b, c)
	}
	if got := testutil.ToFloat64(h.metrics.Throttled); got != 2 {
		t.Errorf("relay_throttled_total = %v", got)
	}
	// Acks are never throttled.
	for range 5 {
		if code, _ := h.do(http.MethodPost, "/api/v1/ack", `{"id":"x","platform":"android_rn","type":"message"}`); code != 200 {
			t.Fatalf("ack HTTP %d", code)
		}
	}
}

func TestCallerAuth(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok3n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, testConfig(func(c *config.Config) {
		c.CallerAuth = config.CallerAuth{AllowedServerIDs: []string{"srv1"}, TokenFile: tokenFile}
	}))
	cases := []struct {
		name       string
		body       string
		hdr        []string
		wantCode   int
		wantReason string
	}{
		{"no token", applePush, nil, 401, "token_missing"},
		{"wrong token", applePush, []string{"Authorization", "Bearer nope"}, 401, "token_invalid"},
		{"server not allowed", strings.Replace(applePush, "srv1", "srv2", 1), []string{"Authorization", "Bearer tok3n"}, 403, "server_id_not_allowed"},
		{"allowed", applePush, []string{"Authorization", "Bearer tok3n"}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do(http.MethodPost, "/api/v1/send_push", tc.body, tc.hdr...)
			r := decodeResponse(t, body)
			if code != tc.wantCode {
				t.Fatalf("HTTP %d %+v, want %d", code, r, tc.wantCode)
			}
			if tc.wantReason != "" {
				if r.Status != push.StatusFail || r.Error == "" {
					t.Errorf("answer %+v", r)
				}
				if got := testutil.ToFloat64(h.metrics.AuthRejections.WithLabelValues(tc.wantReason)); got != 1 {
					t.Errorf("relay_auth_rejections_total{reason=%s} = %v", tc.wantReason, got)
				}
			}
		})
	}
	if code, _ := h.do(http.MethodPost, "/api/v1/ack", `{"id":"x","platform":"apple_rn","type":"message"}`); code != 401 {
		t.Errorf("unauthenticated ack: HTTP %d", code)
	}
	// Probes and metrics need no credentials.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/version"} {
		if code, _ := h.do(http.MethodGet, p, ""); code != 200 {
			t.Errorf("GET %s: HTTP %d", p, code)
		}
	}
}

func TestContentCeilingIsEnforced(t *testing.T) {
	for _, p := range []config.ContentPolicy{config.ContentGeneric, config.ContentIDOnly} {
		t.Run(string(p), func(t *testing.T) {
			h := newHarness(t, testConfig(func(c *config.Config) { c.ContentPolicy = p; c.Log.Level = "debug" }))
			if code, _ := h.do(http.MethodPost, "/api/v1/send_push", applePush); code != 200 {
				t.Fatalf("HTTP %d", code)
			}
			n := h.apple.sent()[0]
			if n.Message != policy.GenericMessage || n.ChannelName != "" || n.SenderName != "" || n.Raw != nil {
				t.Errorf("sent %+v", n)
			}
			if n.IsIDLoaded != (p == config.ContentIDOnly) {
				t.Errorf("is_id_loaded = %v", n.IsIDLoaded)
			}
			if got := testutil.ToFloat64(h.metrics.ContentPolicyApplied.WithLabelValues(string(p))); got != 1 {
				t.Errorf("relay_content_policy_applied_total = %v", got)
			}
			if logs := h.logs.all(); strings.Contains(logs, "secret plans") || strings.Contains(logs, "0123456789abcdef") {
				t.Errorf("logs leak content or a whole token: %s", logs)
			}
		})
	}
}

func TestDebugLogLine(t *testing.T) {
	h := newHarness(t, testConfig(func(c *config.Config) { c.Log.Level = "debug" }))
	h.do(http.MethodPost, "/api/v1/send_push", applePush)
	logs := h.logs.all()
	for _, want := range []string{"Sending push notification", `"device"="012345…"`, "secret plans"} {
		if !strings.Contains(logs, want) {
			t.Errorf("debug log lacks %q: %s", want, logs)
		}
	}
	if strings.Contains(logs, "0123456789abcdef") {
		t.Errorf("whole device token logged: %s", logs)
	}

	quiet := newHarness(t, testConfig())
	quiet.do(http.MethodPost, "/api/v1/send_push", applePush)
	if logs := quiet.logs.all(); strings.Contains(logs, "secret plans") || strings.Contains(logs, "Sending push") {
		t.Errorf("info level logs a delivered push: %s", logs)
	}
}

func TestSendDeadline(t *testing.T) {
	h := newHarness(t, testConfig(func(c *config.Config) {
		c.Timeouts.Send, c.Timeouts.PerTry = config.Duration(7*time.Second), config.Duration(2*time.Second)
	}))
	h.do(http.MethodPost, "/api/v1/send_push", applePush)
	d := h.apple.deadlines
	if len(d) != 1 || d[0] > 7*time.Second || d[0] < 6*time.Second {
		t.Fatalf("sender deadlines %v, want about 7s", d)
	}
}

func TestAck(t *testing.T) {
	h := newHarness(t, testConfig())
	code, body := h.do(http.MethodPost, "/api/v1/ack", `{"id":"ack1","received_at":1700000000000,"platform":"android_rn-v2","type":"message","post_id":"p"}`)
	if code != 200 || decodeResponse(t, body).Status != push.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	if got := testutil.ToFloat64(h.metrics.Delivered.WithLabelValues("android_rn", "message")); got != 1 {
		t.Errorf("service_delivered_total = %v", got)
	}
	code, body = h.do(http.MethodPost, "/api/v1/ack", `{"platform":"android_rn","type":"message"}`)
	if r := decodeResponse(t, body); code != 200 || r.Status != push.StatusFail || !strings.Contains(r.Error, "missing id") {
		t.Fatalf("ack without id: HTTP %d %+v", code, r)
	}
	h.do(http.MethodPost, "/api/v1/ack", `{"id":"a","platform":"made_up_1","type":"weird"}`)
	if got := testutil.ToFloat64(h.metrics.Delivered.WithLabelValues("other", "other")); got != 1 {
		t.Errorf("unknown platform/type not folded into 'other': %v", got)
	}
}

// ackingSender stands for a forward sender: it passes acks on and answers what the
// upstream said.
type ackingSender struct {
	recordingSender
	answer push.Result
	acks   []*push.Ack
}

func (s *ackingSender) Ack(_ context.Context, a *push.Ack) (push.Result, bool) {
	s.acks = append(s.acks, a)
	return s.answer, true
}

func TestAckForwardedUpstreamAnswersItsStatus(t *testing.T) {
	h := newHarness(t, testConfig())
	fwd := &ackingSender{answer: push.Result{Status: push.StatusOK, Tries: 1}}
	h.router.senders["apple_rnbeta"] = fwd
	body := `{"id":"ack1","platform":"apple_rnbeta-v2","type":"message","later_field":1}`
	if code, got := h.do(http.MethodPost, "/api/v1/ack", body); code != 200 || decodeResponse(t, got).Status != push.StatusOK {
		t.Fatalf("HTTP %d %s", code, got)
	}
	if len(fwd.acks) != 1 || string(fwd.acks[0].Raw) != body || fwd.acks[0].Platform != "apple_rnbeta" {
		t.Fatalf("forwarded %+v, want the ack with its body as received", fwd.acks)
	}
	fwd.answer = push.Result{Status: push.StatusFail, Reason: "upstream answered HTTP 503"}
	code, got := h.do(http.MethodPost, "/api/v1/ack", body)
	if r := decodeResponse(t, got); code != 200 || r.Status != push.StatusFail || r.Error != "upstream answered HTTP 503" {
		t.Fatalf("upstream failure: HTTP %d %+v", code, r)
	}
	if got := testutil.ToFloat64(h.metrics.Delivered.WithLabelValues("apple_rnbeta", "message")); got != 2 {
		t.Errorf("service_delivered_total = %v, want both acks counted", got)
	}
}

func TestProbesAndInfo(t *testing.T) {
	h := newHarness(t, testConfig())
	if code, body := h.do(http.MethodGet, "/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _ := h.do(http.MethodGet, "/readyz", ""); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	h.router.notReady = errNotReady
	if code, body := h.do(http.MethodGet, "/readyz", ""); code != 503 || !strings.Contains(body, "loading APNs key") {
		t.Errorf("readyz with a failed app: %d %q", code, body)
	}
	h.router.notReady = nil
	h.srv.Drain()
	if code, body := h.do(http.MethodGet, "/readyz", ""); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("readyz while draining: %d %q", code, body)
	}
	code, body := h.do(http.MethodGet, "/version", "")
	var v BuildInfo
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Version == "" || v.GoVersion == "" {
		t.Errorf("version: %d %q", code, body)
	}
	if code, body := h.do(http.MethodGet, "/", ""); code != 200 || !strings.Contains(body, "push relay") {
		t.Errorf("banner: %d %q", code, body)
	}
	h.do(http.MethodPost, "/api/v1/send_push", applePush)
	if code, body := h.do(http.MethodGet, "/metrics", ""); code != 200 || !strings.Contains(body, `service_success_total{platform="apple_rn",type="message"} 1`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}

	off := false
	noMetrics := newHarness(t, testConfig(func(c *config.Config) { c.Metrics.Enabled = &off }))
	if code, _ := noMetrics.do(http.MethodGet, "/metrics", ""); code != http.StatusNotFound {
		t.Errorf("metrics disabled: HTTP %d", code)
	}
}

func TestMetricLabelsStayBounded(t *testing.T) {
	h := newHarness(t, testConfig())
	// A forward upstream accepts any platform: the relay must not mint a label per name.
	h.router.senders["made_up_42"] = h.android
	h.router.senders["apple_rnbeta"] = h.android
	h.do(http.MethodPost, "/api/v1/send_push", `{"platform":"made_up_42","server_id":"s","device_id":"d","type":"weird"}`)
	h.do(http.MethodPost, "/api/v1/send_push", `{"platform":"apple_rnbeta-v2","server_id":"s","device_id":"d","type":"message"}`)
	if got := testutil.ToFloat64(h.metrics.Notifications.WithLabelValues("other", "other")); got != 1 {
		t.Errorf("unknown platform and type: %v", got)
	}
	if got := testutil.ToFloat64(h.metrics.Notifications.WithLabelValues("apple_rnbeta", "message")); got != 1 {
		t.Errorf("official platform: %v", got)
	}
}

func TestReasonLabel(t *testing.T) {
	for in, want := range map[string]string{
		"BadDeviceToken": "BadDeviceToken", "UNREGISTERED": "UNREGISTERED", "SENDER_ID_MISMATCH": "SENDER_ID_MISMATCH",
		"": "other", "Failed because of missing device Id serverId=abc": "other", "context deadline exceeded": "other",
	} {
		if got := reasonLabel(in); got != want {
			t.Errorf("reasonLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
