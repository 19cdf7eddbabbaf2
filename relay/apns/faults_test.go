package apns_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pushops/push-operator/relay/apns"
	"github.com/pushops/push-operator/relay/fake"
	"github.com/pushops/push-operator/relay/push"
)

// TestFaultMatrix drives the real apns2 client through Apple's answers and transport
// faults: which become REMOVE, which FAIL, and how often each is tried.
func TestFaultMatrix(t *testing.T) {
	cases := []struct {
		name   string
		rule   fake.Rule
		big    bool // send a payload over Apple's 4 KiB limit
		status push.Status
		reason string
		tries  int
	}{
		{name: "delivered", status: push.StatusOK, tries: 1},
		{name: "400 BadDeviceToken", rule: fake.Rule{Reason: "BadDeviceToken"}, status: push.StatusRemove, reason: "BadDeviceToken", tries: 1},
		{name: "410 Unregistered", rule: fake.Rule{Reason: "Unregistered"}, status: push.StatusRemove, reason: "Unregistered", tries: 1},
		{name: "400 DeviceTokenNotForTopic", rule: fake.Rule{Reason: "DeviceTokenNotForTopic"}, status: push.StatusRemove, reason: "DeviceTokenNotForTopic", tries: 1},
		{name: "400 MissingDeviceToken", rule: fake.Rule{Reason: "MissingDeviceToken"}, status: push.StatusRemove, reason: "MissingDeviceToken", tries: 1},
		{name: "400 BadTopic", rule: fake.Rule{Reason: "BadTopic"}, status: push.StatusFail, reason: "BadTopic", tries: 1},
		{name: "403 ExpiredProviderToken", rule: fake.Rule{Reason: "ExpiredProviderToken"}, status: push.StatusFail, reason: "ExpiredProviderToken", tries: 1},
		{name: "413 PayloadTooLarge", big: true, status: push.StatusFail, reason: "PayloadTooLarge", tries: 1},
		{name: "429 TooManyRequests", rule: fake.Rule{Reason: "TooManyRequests"}, status: push.StatusFail, reason: "TooManyRequests", tries: 3},
		{name: "500 once, then delivered", rule: fake.Rule{Reason: "InternalServerError", Times: 1}, status: push.StatusOK, tries: 2},
		{name: "500 InternalServerError", rule: fake.Rule{Reason: "InternalServerError"}, status: push.StatusFail, reason: "InternalServerError", tries: 3},
		{name: "503 ServiceUnavailable", rule: fake.Rule{Reason: "ServiceUnavailable"}, status: push.StatusFail, reason: "ServiceUnavailable", tries: 3},
		{name: "503 twice, then delivered", rule: fake.Rule{Reason: "ServiceUnavailable", Times: 2}, status: push.StatusOK, tries: 3},
		{name: "stream reset", rule: fake.Rule{Reset: true}, status: push.StatusFail, reason: "transport error", tries: 3},
		{name: "reset once, then delivered", rule: fake.Rule{Reset: true, Times: 1}, status: push.StatusOK, tries: 2},
		{name: "connection dropped", rule: fake.Rule{Drop: true}, status: push.StatusFail, reason: "transport error", tries: 3},
		{name: "connection dropped once, then delivered", rule: fake.Rule{Drop: true, Times: 1}, status: push.StatusOK, tries: 2},
		{name: "no answer within the per-try timeout", rule: fake.Rule{Hang: true}, status: push.StatusFail, reason: "timeout", tries: 3},
	}
	r := newRig(t)
	s, m := r.sender(t, time.Second) // generous: a slow CI machine must not turn a delivery into a timeout
	// One delivery first: it confirms the environment, so BadDeviceToken means a dead token.
	if res := send(t, s, message("warmup")); res.Status != push.StatusOK {
		t.Fatalf("warm-up: %+v", res)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := fmt.Sprintf("case%02d-", i)
			rule := tc.rule
			rule.TokenPrefix = token
			r.fake.Program(rule)
			retriesBefore := testutil.ToFloat64(m.Retries.WithLabelValues("apple_rn", "apns"))
			n := message(token)
			if tc.big {
				n.Message = strings.Repeat("x", 5000)
			}
			res := send(t, s, n)
			if res.Status != tc.status || res.Reason != tc.reason || res.Tries != tc.tries {
				t.Errorf("got %+v, want %s %q after %d tries", res, tc.status, tc.reason, tc.tries)
			}
			seen := 0
			for _, req := range r.fake.Requests() {
				if req.Token == token {
					seen++
				}
			}
			if seen != tc.tries {
				t.Errorf("fake saw %d requests, want %d", seen, tc.tries)
			}
			if retries := testutil.ToFloat64(m.Retries.WithLabelValues("apple_rn", "apns")) - retriesBefore; int(retries) != tc.tries-1 {
				t.Errorf("relay_retries_total grew by %v, want %d", retries, tc.tries-1)
			}
		})
	}
	if n := testutil.CollectAndCount(m.APNsRequestDuration); n != 1 {
		t.Errorf("service_apns_request_duration_seconds has %d series, want 1", n)
	}
}

// TestRetriesStopAtTheSendDeadline: a send never outlives its context, however many tries
// are left.
func TestRetriesStopAtTheSendDeadline(t *testing.T) {
	r := newRig(t)
	r.fake.Program(fake.Rule{Hang: true})
	s, _ := r.sender(t, 5*time.Second)
	ctx, cancel := contextWithTimeout(400 * time.Millisecond)
	defer cancel()
	start := time.Now()
	res := s.Send(ctx, message("device"))
	if res.Status != push.StatusFail || res.Tries != 1 {
		t.Errorf("got %+v, want FAIL after 1 try", res)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("send took %v with a 400ms deadline", took)
	}
}

// TestEnvironmentGuard: an app pointed at the wrong environment gets BadDeviceToken for
// every device. Until a delivery confirms the environment the relay answers FAIL, never
// REMOVE, and after ten such answers it reports the likely misconfiguration.
func TestEnvironmentGuard(t *testing.T) {
	r := newRig(t)
	r.fake.Program(fake.Rule{TokenPrefix: "sandbox-", Reason: "BadDeviceToken"})
	s, m := r.sender(t, 2*time.Second)
	mismatch := m.EnvironmentMismatch.WithLabelValues("apple_rn")
	for i := range 10 {
		res := send(t, s, message("sandbox-"+string(rune('a'+i))))
		if res.Status != push.StatusFail {
			t.Fatalf("answer %d: %+v, want FAIL (REMOVE would make the server forget the device)", i, res)
		}
		tripped := testutil.ToFloat64(mismatch) == 1
		if want := i == 9; tripped != want {
			t.Fatalf("after %d answers relay_apns_environment_mismatch tripped=%v, want %v", i+1, tripped, want)
		}
		if want := i == 9; (res.Reason == apns.MismatchReason) != want {
			t.Errorf("answer %d reason %q", i, res.Reason)
		}
	}
	if res := send(t, s, message("sandbox-more")); res.Reason != apns.MismatchReason {
		t.Errorf("while tripped: %+v, want FAIL %q", res, apns.MismatchReason)
	}
	// The environment gets fixed (or production tokens arrive): deliveries clear the guard,
	// and BadDeviceToken means a dead token again.
	if res := send(t, s, message("production-device")); res.Status != push.StatusOK {
		t.Fatalf("got %+v", res)
	}
	if testutil.ToFloat64(mismatch) != 0 {
		t.Error("a delivery did not clear relay_apns_environment_mismatch")
	}
	if res := send(t, s, message("sandbox-dead")); res.Status != push.StatusRemove || res.Reason != "BadDeviceToken" {
		t.Errorf("after a delivery: %+v, want REMOVE BadDeviceToken", res)
	}
}

// TestVoIPTransportNeverRemovesOnTopicMismatch: a push the chat server marks "transport":
// "voip" goes to "<bundle>.voip" as PushKit; when Apple says the token is not for that
// topic, the device still takes standard pushes, so the answer is FAIL, not REMOVE.
func TestVoIPTransportNeverRemovesOnTopicMismatch(t *testing.T) {
	r := newRig(t)
	s, _ := r.sender(t, 2*time.Second)
	r.fake.Program(fake.Rule{TokenPrefix: "standard-", Reason: "DeviceTokenNotForTopic"})
	call := message("pushkit-device")
	call.Transport = push.TransportVoIP
	if res := send(t, s, call); res.Status != push.StatusOK {
		t.Fatalf("VoIP push: %+v", res)
	}
	reqs := r.fake.Requests()
	if h := reqs[len(reqs)-1].Header; h.Get("apns-topic") != "com.example.chat.voip" || h.Get("apns-push-type") != "voip" {
		t.Errorf("VoIP push went out with topic %q push type %q", h.Get("apns-topic"), h.Get("apns-push-type"))
	}
	call = message("standard-device")
	call.Transport = push.TransportVoIP
	if res := send(t, s, call); res.Status != push.StatusFail || !strings.HasPrefix(res.Reason, "DeviceTokenNotForTopic") {
		t.Errorf("VoIP push to a standard token: %+v, want FAIL DeviceTokenNotForTopic", res)
	}
	if res := send(t, s, message("standard-device")); res.Status != push.StatusRemove {
		t.Errorf("standard push with DeviceTokenNotForTopic: %+v, want REMOVE as before", res)
	}
}
