package fcm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
	"github.com/pushops/push-operator/relay/fcm"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/retry"
)

type rig struct {
	fake *fake.FCM
	sa   *fake.ServiceAccount
	app  *config.FCM
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ca, err := fake.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fake.NewFCM("", ca)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	sa, err := fake.NewServiceAccount("chat-project", f.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	f.TrustServiceAccount(sa)
	dir := t.TempDir()
	for name, data := range map[string][]byte{"sa.json": sa.JSON, "ca.pem": ca.CertPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &rig{fake: f, sa: sa, app: &config.FCM{
		ServiceAccountFile: filepath.Join(dir, "sa.json"), Endpoint: f.URL(), CAFile: filepath.Join(dir, "ca.pem"),
	}}
}

func (r *rig) sender(t *testing.T, perTry time.Duration) (*fcm.Sender, *metrics.Metrics) {
	t.Helper()
	m := metrics.New()
	s, err := fcm.New(context.Background(), "android_rn", r.app, fcm.Options{
		Retry:   retry.Policy{Tries: 3, Base: time.Millisecond, PerTry: perTry},
		Metrics: m, Log: logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, m
}

func message(token string) *push.Notification {
	return &push.Notification{Type: push.TypeMessage, ServerID: "srv1", DeviceID: token, Platform: "android_rn",
		Message: "hello", ChannelID: "ch1", Badge: 1, Version: "v2", AckID: "ack1"}
}

func send(s *fcm.Sender, n *push.Notification) push.Result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, n)
}

func TestDeliversWithTheServiceAccount(t *testing.T) {
	r := newRig(t)
	s, _ := r.sender(t, 2*time.Second)
	for range 2 {
		if res := send(s, message("device-ok")); res.Status != push.StatusOK || res.Tries != 1 {
			t.Fatalf("got %+v, want OK after 1 try", res)
		}
	}
	reqs := r.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("fake received %d sends, want 2", len(reqs))
	}
	got := reqs[0]
	if got.Project != "chat-project" || got.ClientEmail != r.sa.ClientEmail || got.Token != "device-ok" ||
		got.AndroidPriority != "high" || got.Data["message"] != "hello" || got.Data["ack_id"] != "ack1" {
		t.Errorf("fake saw %+v", got)
	}
	if n := r.fake.TokensIssued(); n != 1 {
		t.Errorf("%d OAuth tokens fetched for two sends, want 1 (cached)", n)
	}
}

func TestAnUntrustedServiceAccountGetsNoToken(t *testing.T) {
	r := newRig(t)
	other, err := fake.NewServiceAccount("chat-project", r.fake.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.app.ServiceAccountFile, other.JSON, 0o600); err != nil {
		t.Fatal(err)
	}
	r.fake.ClearRules()
	// Trust only the first account: the token endpoint refuses the second's assertion.
	s, _ := r.sender(t, 2*time.Second)
	start := time.Now()
	res := send(s, message("device"))
	if took := time.Since(start); took > time.Second {
		t.Errorf("a refused service account took %v to FAIL; it must fail fast", took)
	}
	if res.Status != push.StatusFail || res.Reason != "UNAUTHENTICATED" || res.Tries != 1 || r.fake.Count() != 0 {
		t.Errorf("got %+v with %d sends reaching FCM, want FAIL before any send", res, r.fake.Count())
	}
}

// TestFaultMatrix drives the real firebase client through FCM's error codes and transport
// faults. (The SDK retries a 503 or a network error once, immediately, by itself: those
// count as extra requests the fake sees within one try.)
func TestFaultMatrix(t *testing.T) {
	cases := []struct {
		name     string
		rule     fake.Rule
		status   push.Status
		reason   string
		tries    int
		requests int
	}{
		{name: "delivered", status: push.StatusOK, tries: 1, requests: 1},
		{name: "UNREGISTERED", rule: fake.Rule{Reason: "UNREGISTERED"}, status: push.StatusRemove, reason: "UNREGISTERED", tries: 1, requests: 1},
		{name: "SENDER_ID_MISMATCH", rule: fake.Rule{Reason: "SENDER_ID_MISMATCH"}, status: push.StatusRemove, reason: "SENDER_ID_MISMATCH", tries: 1, requests: 1},
		{name: "INVALID_ARGUMENT", rule: fake.Rule{Reason: "INVALID_ARGUMENT"}, status: push.StatusFail, reason: "INVALID_ARGUMENT", tries: 1, requests: 1},
		{name: "THIRD_PARTY_AUTH_ERROR", rule: fake.Rule{Reason: "THIRD_PARTY_AUTH_ERROR"}, status: push.StatusFail, reason: "THIRD_PARTY_AUTH_ERROR", tries: 1, requests: 1},
		{name: "QUOTA_EXCEEDED", rule: fake.Rule{Reason: "QUOTA_EXCEEDED"}, status: push.StatusFail, reason: "QUOTA_EXCEEDED", tries: 3, requests: 3},
		{name: "QUOTA_EXCEEDED once", rule: fake.Rule{Reason: "QUOTA_EXCEEDED", Times: 1}, status: push.StatusOK, tries: 2, requests: 2},
		{name: "INTERNAL", rule: fake.Rule{Reason: "INTERNAL"}, status: push.StatusFail, reason: "INTERNAL", tries: 3, requests: 3},
		{name: "INTERNAL once", rule: fake.Rule{Reason: "INTERNAL", Times: 1}, status: push.StatusOK, tries: 2, requests: 2},
		{name: "UNAVAILABLE once (the SDK retries)", rule: fake.Rule{Reason: "UNAVAILABLE", Times: 1}, status: push.StatusOK, tries: 1, requests: 2},
		{name: "UNAVAILABLE three times", rule: fake.Rule{Reason: "UNAVAILABLE", Times: 3}, status: push.StatusOK, tries: 2, requests: 4},
		{name: "connection reset once (the SDK retries)", rule: fake.Rule{Reset: true, Times: 1}, status: push.StatusOK, tries: 1, requests: 2},
		{name: "connection dropped once (the SDK retries)", rule: fake.Rule{Drop: true, Times: 1}, status: push.StatusOK, tries: 1, requests: 2},
		{name: "no answer within the per-try timeout", rule: fake.Rule{Hang: true}, status: push.StatusFail, reason: "timeout", tries: 3, requests: 3},
	}
	r := newRig(t)
	s, m := r.sender(t, time.Second) // generous: a slow CI machine must not turn a delivery into a timeout
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := fmt.Sprintf("case%02d-", i)
			rule := tc.rule
			rule.TokenPrefix = token
			r.fake.Program(rule)
			retries := m.Retries.WithLabelValues("android_rn", "fcm")
			before := testutil.ToFloat64(retries)
			res := send(s, message(token))
			if res.Status != tc.status || res.Reason != tc.reason || res.Tries != tc.tries {
				t.Errorf("got %+v, want %s %q after %d tries", res, tc.status, tc.reason, tc.tries)
			}
			seen := 0
			for _, req := range r.fake.Requests() {
				if req.Token == token {
					seen++
				}
			}
			if seen != tc.requests {
				t.Errorf("fake saw %d requests, want %d", seen, tc.requests)
			}
			if grew := testutil.ToFloat64(retries) - before; int(grew) != tc.tries-1 {
				t.Errorf("relay_retries_total grew by %v, want %d", grew, tc.tries-1)
			}
		})
	}
}

func TestServiceAccountErrorsSayWhatToFix(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"not JSON":                  "{",
		"lacks project_id":          `{"type":"service_account","client_email":"a@b"}`,
		"not a service account key": `{"type":"authorized_user","project_id":"p","client_email":"a@b","private_key":"k"}`,
		"private_key is not PEM":    `{"type":"service_account","project_id":"p","client_email":"a@b","private_key":"k"}`,
	}
	for want, content := range cases {
		file := filepath.Join(dir, "sa.json")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := fcm.New(context.Background(), "android", &config.FCM{ServiceAccountFile: file}, fcm.Options{Metrics: metrics.New(), Log: logr.Discard()})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v", want, err)
		}
	}
}
