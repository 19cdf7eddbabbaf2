package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/senders"
)

// TestGeneratedConfigurationDelivers: the relay configuration fakepush writes loads, every
// app in it becomes ready, and the token conventions answer as documented.
func TestGeneratedConfigurationDelivers(t *testing.T) {
	ca, err := fake.NewCA("fakepush test CA")
	if err != nil {
		t.Fatal(err)
	}
	apns, err := fake.NewAPNs("", ca)
	if err != nil {
		t.Fatal(err)
	}
	defer apns.Close()
	fcm, err := fake.NewFCM("", ca)
	if err != nil {
		t.Fatal(err)
	}
	defer fcm.Close()
	program(apns, fcm)
	path, err := writeFiles(t.TempDir(), ca, apns, fcm, "127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the generated configuration does not load: %v", err)
	}
	set := senders.New(cfg, metrics.New(), logr.Discard(), senders.WithRetryBase(time.Millisecond))
	defer set.Close()
	if err := set.Ready(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		platform, token string
		want            push.Status
	}{
		{"apple", "device", push.StatusOK},
		{"apple_rn", "device", push.StatusOK},
		{"android", "device", push.StatusOK},
		{"android_rn", "device", push.StatusOK},
		{"apple", "gone-1", push.StatusRemove},
		{"apple_rn", "bad-1", push.StatusRemove}, // after a delivery the environment is confirmed
		{"apple", "busy-1", push.StatusFail},
		{"android", "unregistered-1", push.StatusRemove},
		{"android", "mismatch-1", push.StatusRemove},
		{"android_rn", "invalid-1", push.StatusFail},
	}
	for _, tc := range cases {
		s, ok := set.Lookup(tc.platform)
		if !ok {
			t.Fatalf("no app %q in the generated configuration", tc.platform)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res := s.Send(ctx, &push.Notification{Type: push.TypeMessage, Platform: tc.platform, ServerID: "srv", DeviceID: tc.token})
		cancel()
		if res.Status != tc.want {
			t.Errorf("%s %s: %+v, want %s", tc.platform, tc.token, res, tc.want)
		}
	}

	rec := httptest.NewRecorder()
	adminHandler(apns, fcm).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/requests", nil))
	var got received
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /requests: %d %v", rec.Code, err)
	}
	// busy-1 is tried 3 times.
	if len(got.APNs) != 7 || len(got.FCM) != 5 {
		t.Errorf("GET /requests listed %d APNs and %d FCM requests, want 7 and 5", len(got.APNs), len(got.FCM))
	}
}

func TestAdvertisedHostReplacesTheListenAddress(t *testing.T) {
	for _, tc := range []struct{ url, host, want string }{
		{"https://0.0.0.0:8443", "10.96.0.50", "https://10.96.0.50:8443"},
		{"https://[::]:8444/v1", "fakepush.fakes.svc", "https://fakepush.fakes.svc:8444/v1"},
		{"https://127.0.0.1:8444/token", "", "https://127.0.0.1:8444/token"},
	} {
		if got := advertised(tc.url, tc.host); got != tc.want {
			t.Errorf("advertised(%q, %q) = %q, want %q", tc.url, tc.host, got, tc.want)
		}
	}
}
