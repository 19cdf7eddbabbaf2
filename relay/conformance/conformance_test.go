package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/mattermost/mattermost/server/public/model"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/server"
)

// ignoredByRelay are keys the chat server sends that the relay's wire contract does not
// use, with the reason. Everything else must arrive at the sender unchanged.
var ignoredByRelay = map[string]string{}

type recorder struct {
	mu     sync.Mutex
	got    []push.Notification
	result push.Result
}

func (r *recorder) Send(_ context.Context, n *push.Notification) push.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, *n)
	return r.result
}

type router struct{ s push.Sender }

func (r router) Lookup(p string) (push.Sender, bool) {
	return r.s, p == model.PushNotifyAppleReactNative || p == model.PushNotifyAndroidReactNative
}
func (router) Ready() error { return nil }

func newRelay(t *testing.T, rec *recorder) *httptest.Server {
	t.Helper()
	cfg := &config.Config{Apps: []config.App{
		{Platform: model.PushNotifyAppleReactNative, Kind: config.AppKindApple, APNs: &config.APNs{Topic: "com.example", CertificateFile: "/c.p12"}},
		{Platform: model.PushNotifyAndroidReactNative, Kind: config.AppKindAndroid, FCM: &config.FCM{ServiceAccountFile: "/sa.json"}},
	}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Config: cfg, Router: router{rec}, Metrics: metrics.New(), Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// post sends body the way the chat server's sendToPushProxy does: POST, JSON body, no
// Content-Type, and decodes the answer into its model.PushResponse whatever the status.
func post(t *testing.T, url string, body []byte) (int, model.PushResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Mattermost-Bot/1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pr model.PushResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
		t.Fatalf("HTTP %d: the chat server could not decode the answer: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, pr
}

// serverPush builds a push as the chat server's BuildPushNotificationMessage does for a
// mention with full contents.
func serverPush(pushType string, deviceID string) *model.PushNotification {
	msg := &model.PushNotification{
		Version:          model.PushMessageV2,
		AckId:            model.NewId(),
		ServerId:         model.NewId(),
		Type:             pushType,
		TeamId:           model.NewId(),
		ChannelId:        model.NewId(),
		PostId:           model.NewId(),
		RootId:           model.NewId(),
		SenderId:         model.NewId(),
		SenderName:       "alice",
		ChannelName:      "Town Square",
		Message:          "alice: Ünïcödé ✓ message",
		Category:         model.CategoryCanReply,
		Sound:            "default",
		Badge:            3,
		ContentAvailable: 1,
		IsCRTEnabled:     true,
		SubType:          model.PushSubTypeCalls,
		OverrideUsername: "webhook-bot",
		OverrideIconURL:  "https://example.com/icon.png",
		FromWebhook:      "true",
		Signature:        "sig",
		Transport:        model.PushTransportVoIP,
	}
	msg.SetDeviceIdAndPlatform(deviceID)
	return msg
}

func TestEveryPushTypeAndFieldReachesTheSender(t *testing.T) {
	types := []string{model.PushTypeMessage, model.PushTypeClear, model.PushTypeUpdateBadge, model.PushTypeSession, model.PushTypeTest}
	for _, device := range []string{model.PushNotifyAppleReactNative + "-v2:apple-token", model.PushNotifyAndroidReactNative + "-v2:android-token"} {
		for _, typ := range types {
			t.Run(device+"/"+typ, func(t *testing.T) {
				rec := &recorder{result: push.Result{Status: push.StatusOK}}
				ts := newRelay(t, rec)
				msg := serverPush(typ, device)
				if typ == model.PushTypeTest || typ == model.PushTypeClear {
					msg.Badge = -1
				}
				body, err := json.Marshal(msg)
				if err != nil {
					t.Fatal(err)
				}
				code, pr := post(t, strings.TrimRight(ts.URL+"/", "/")+"/api/v1/send_push", body)
				if code != http.StatusOK || pr[model.PushStatus] != model.PushStatusOk {
					t.Fatalf("HTTP %d %v", code, pr)
				}
				if len(rec.got) != 1 {
					t.Fatalf("sender called %d times", len(rec.got))
				}
				got := rec.got[0]
				if got.Platform+"-v2" != msg.Platform || got.AppVersion != 2 {
					t.Errorf("platform %q version %d from %q", got.Platform, got.AppVersion, msg.Platform)
				}
				compareFields(t, body, &got)
			})
		}
	}
}

// compareFields checks that every key the chat server sent decodes into the relay's
// notification with the same value (the platform without its suffix).
func compareFields(t *testing.T, sent []byte, got *push.Notification) {
	t.Helper()
	var want map[string]any
	if err := json.Unmarshal(sent, &want); err != nil {
		t.Fatal(err)
	}
	got.Platform = want["platform"].(string) // compared above, with its suffix split off
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var have map[string]any
	if err := json.Unmarshal(b, &have); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if _, ignored := ignoredByRelay[k]; ignored {
			continue
		}
		if !reflect.DeepEqual(have[k], v) {
			t.Errorf("field %q: chat server sent %v, sender got %v", k, v, have[k])
		}
	}
}

func TestValidationFailuresAreReadableByTheServer(t *testing.T) {
	rec := &recorder{}
	ts := newRelay(t, rec)
	cases := []struct {
		name string
		edit func(*model.PushNotification)
		want string
	}{
		{"no server id", func(m *model.PushNotification) { m.ServerId = "" }, "missing server_id"},
		{"no device id", func(m *model.PushNotification) { m.DeviceId = "" }, "missing device_id"},
		{"unknown platform", func(m *model.PushNotification) { m.Platform = "windows" }, "missing platform"},
	}
	for _, tc := range cases {
		msg := serverPush(model.PushTypeMessage, model.PushNotifyAppleReactNative+":tok")
		tc.edit(msg)
		body, _ := json.Marshal(msg)
		code, pr := post(t, ts.URL+"/api/v1/send_push", body)
		if code != http.StatusOK || pr[model.PushStatus] != model.PushStatusFail || !strings.Contains(pr[model.PushStatusErrorMsg], tc.want) {
			t.Errorf("%s: HTTP %d %v", tc.name, code, pr)
		}
	}
	if len(rec.got) != 0 {
		t.Errorf("invalid pushes reached the sender: %d", len(rec.got))
	}
}

func TestRemoveAnswerIsTheServersRemove(t *testing.T) {
	rec := &recorder{result: push.Result{Status: push.StatusRemove, Reason: "Unregistered"}}
	ts := newRelay(t, rec)
	body, _ := json.Marshal(serverPush(model.PushTypeMessage, model.PushNotifyAppleReactNative+"-v2:dead"))
	if code, pr := post(t, ts.URL+"/api/v1/send_push", body); code != 200 || pr[model.PushStatus] != model.PushStatusRemove {
		t.Fatalf("HTTP %d %v", code, pr)
	}
}

func TestAckFromTheServer(t *testing.T) {
	ts := newRelay(t, &recorder{})
	ack := model.PushNotificationAck{
		Id: model.NewId(), ClientReceivedAt: model.GetMillis(), ClientPlatform: model.PushNotifyAndroidReactNative,
		NotificationType: model.PushTypeMessage, PostId: model.NewId(), IsIdLoaded: true,
	}
	body, _ := json.Marshal(ack)
	if code, pr := post(t, ts.URL+"/api/v1/ack", body); code != 200 || pr[model.PushStatus] != model.PushStatusOk {
		t.Fatalf("HTTP %d %v", code, pr)
	}
}
