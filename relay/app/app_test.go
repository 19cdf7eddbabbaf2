package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/relaytest"
)

func runMain(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMainCommands(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"--help"}, 0, "relay --config FILE", ""},
		{"help word", []string{"help"}, 0, "relay send-test", ""},
		{"version", []string{"version"}, 0, `"goVersion"`, ""},
		{"no config", nil, 2, "", "--config is required"},
		{"unknown command", []string{"serve"}, 2, "", `unknown command "serve"`},
		{"missing file", []string{"--config=/nonexistent/relay.yaml"}, 1, "", "reading relay configuration"},
		{"send-test without flags", []string{"send-test"}, 1, "", "--server, --platform and --device are required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantStdout) || !strings.Contains(errOut, tc.wantStderr) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

func TestMainReportsInvalidConfigPrecisely(t *testing.T) {
	p := filepath.Join(t.TempDir(), "relay.yaml")
	if err := os.WriteFile(p, []byte("apps: [{platform: apple_rn, kind: apple, apns: {authKeyFile: /k.p8}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runMain("--config", p)
	for _, want := range []string{"apps[0].apns.topic: required", "apps[0].apns.keyID: required with token auth"} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", code, want, errOut)
		}
	}
}

// syncBuffer is a log sink safe for the relay's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRelay runs the relay in-process on w's configuration until the test ends.
func startRelay(t *testing.T, w *relaytest.World) (stop func() error, logs *syncBuffer) {
	t.Helper()
	path := w.Write()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, path, logs) }()
	relaytest.Eventually(t, 20*time.Second, func() bool {
		resp, err := http.Get(w.BaseURL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, logs.String)
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop, logs
}

func postPush(t *testing.T, url string, n push.Notification) push.Response {
	t.Helper()
	b, _ := json.Marshal(n)
	resp, err := http.Post(url+"/api/v1/send_push", "", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r push.Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HTTP %d, decode error %v", resp.StatusCode, err)
	}
	return r
}

func TestRunDeliversThroughRealClientsAndShutsDownCleanly(t *testing.T) {
	w := relaytest.NewWorld(t)
	w.Config.Timeouts.ShutdownDelay = config.Duration(50 * time.Millisecond)
	w.Config.Log.Level = "debug"
	w.APNs.Program(fake.Rule{TokenPrefix: "dead", Reason: "Unregistered"})
	stop, logs := startRelay(t, w)

	base := push.Notification{ServerID: "srv1", Type: push.TypeMessage, Message: "hello", PostID: "p1", AckID: "a1", Badge: 1}
	apple, android, dead := base, base, base
	apple.Platform, apple.DeviceID = "apple_rn-v2", "aaaa0000apple"
	android.Platform, android.DeviceID = "android_rn-v2", "bbbb0000android"
	dead.Platform, dead.DeviceID = "apple_rn-v2", "dead0000"
	if r := postPush(t, w.BaseURL(), apple); r.Status != push.StatusOK {
		t.Errorf("apple: %+v\n%s", r, logs)
	}
	if r := postPush(t, w.BaseURL(), android); r.Status != push.StatusOK {
		t.Errorf("android: %+v\n%s", r, logs)
	}
	if r := postPush(t, w.BaseURL(), dead); r.Status != push.StatusRemove {
		t.Errorf("dead token: %+v", r)
	}
	if w.APNs.Count() != 2 || w.FCM.Count() != 1 {
		t.Errorf("fakes received apns=%d fcm=%d", w.APNs.Count(), w.FCM.Count())
	}

	// relay send-test is the guide's "trigger a push notification" check.
	code, out, errOut := runMain("send-test", "--server", w.BaseURL()+"/", "--platform", "apple_rn-v2", "--device", "aaaa0000test")
	if code != 0 || !strings.Contains(out, `HTTP 200 {"status":"OK"}`) {
		t.Errorf("send-test: exit %d %s %s", code, out, errOut)
	}
	reqs := w.APNs.Requests()
	if last := reqs[len(reqs)-1]; last.Token != "aaaa0000test" || !strings.Contains(string(last.Payload), `"type":"test"`) {
		t.Errorf("test push reached APNs as %+v", last)
	}
	if code, out, _ := runMain("send-test", "--server", w.BaseURL(), "--platform", "apple_rn", "--device", "dead1"); code != 1 || !strings.Contains(out, "REMOVE") {
		t.Errorf("send-test to a dead token: exit %d %s", code, out)
	}

	resp, err := http.Get(w.BaseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`service_success_total{platform="apple_rn",type="message"} 1`, `service_removal_total{platform="apple_rn",reason="Unregistered"} 2`} {
		if !strings.Contains(string(metricsText), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run after shutdown: %v", err)
	}
	l := logs.String()
	if !strings.Contains(l, "shut down cleanly") || !strings.Contains(l, `"device":"aaaa00…"`) || strings.Contains(l, "aaaa0000apple") {
		t.Errorf("logs:\n%s", l)
	}
}

func TestSendTestRequest(t *testing.T) {
	var got push.Notification
	var auth, agent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		auth, agent = r.Header.Get("Authorization"), r.Header.Get("User-Agent")
		_, _ = w.Write([]byte(`{"status":"FAIL","error":"BadDeviceToken"}`))
	}))
	defer srv.Close()
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runMain("send-test", "--server", srv.URL, "--platform", "android_rn-v2", "--device", "tok", "--server-id", "srv9", "--token-file", tok)
	if code != 1 || !strings.Contains(out, "BadDeviceToken") {
		t.Errorf("FAIL answer: exit %d %s", code, out)
	}
	if got.Type != push.TypeTest || got.Badge != push.BadgeUnset || got.AckID == "" || got.Platform != "android_rn-v2" ||
		got.DeviceID != "tok" || got.ServerID != "srv9" {
		t.Errorf("sent %+v", got)
	}
	if auth != "Bearer s3cret" || !strings.HasPrefix(agent, "Mattermost-Bot/1.1") {
		t.Errorf("headers: %q %q", auth, agent)
	}
}

// readyz returns /readyz's status and body.
func readyz(w *relaytest.World) (int, string) {
	resp, err := http.Get(w.BaseURL() + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUnreadyUntilCredentialsLoad(t *testing.T) {
	w := relaytest.NewWorld(t)
	// The mounted Secret lacks the key the configuration names.
	missing := filepath.Join(w.SecretDir, "fcm-later.json")
	w.Config.Apps[1].FCM.ServiceAccountFile = missing
	w.Config.Timeouts.ShutdownDelay = config.Duration(50 * time.Millisecond)
	path := w.Write()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, path, logs) }()
	defer func() { cancel(); <-done }()

	relaytest.Eventually(t, 20*time.Second, func() bool {
		code, body := readyz(w)
		return code == http.StatusServiceUnavailable && strings.Contains(body, relaytest.AndroidPlatform)
	}, logs.String)
	if r := postPush(t, w.BaseURL(), push.Notification{Platform: "android_rn-v2", ServerID: "s", DeviceID: "d", Type: push.TypeTest, Badge: -1}); r.Status != push.StatusFail {
		t.Errorf("push to an app without credentials: %+v", r)
	}

	// The key appears (the Secret is fixed): the relay becomes ready without a restart.
	sa, err := fake.NewServiceAccount("relaytest", w.FCM.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	w.FCM.TrustServiceAccount(sa)
	if err := os.WriteFile(missing, sa.JSON, 0o600); err != nil {
		t.Fatal(err)
	}
	relaytest.Eventually(t, 30*time.Second, func() bool { code, _ := readyz(w); return code == http.StatusOK }, logs.String)
	if r := postPush(t, w.BaseURL(), push.Notification{Platform: "android_rn-v2", ServerID: "s", DeviceID: "d", Type: push.TypeTest, Badge: -1}); r.Status != push.StatusOK {
		t.Errorf("push after the credentials appeared: %+v", r)
	}
}

func TestLegacyConfigDropIn(t *testing.T) {
	w := relaytest.NewWorld(t)
	sa := filepath.Join(w.SecretDir, "fcm.json")
	legacy := fmt.Sprintf(`{
    "ListenAddress":%q,
    "ThrottlePerSec":300,
    "ThrottleMemoryStoreSize":50000,
    "ThrottleVaryByHeader":"X-Forwarded-For",
    "EnableMetrics": false,
    "ApplePushSettings":[{"Type":"apple","ApplePushUseDevelopment":false,"ApplePushCertPrivate":"","ApplePushCertPassword":"","ApplePushTopic":"com.mattermost.Mattermost"}],
    "AndroidPushSettings":[{"Type":"android_rn","ServiceFileLocation":%q}],
    "EnableConsoleLog": true,
    "LogFormat": "plain",
    "LogLevel": "info"
}`, w.Config.Listen, sa)
	path := filepath.Join(w.Dir, "mattermost-push-proxy.json")
	if err := os.WriteFile(path, []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, path, logs) }()
	// A legacy file has no shutdown delay: stopping takes the default 5 s.
	defer func() { cancel(); <-done }()

	relaytest.Eventually(t, 20*time.Second, func() bool { code, _ := readyz(w); return code == http.StatusOK }, logs.String)
	resp, err := http.Get(w.BaseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics with EnableMetrics false: HTTP %d", resp.StatusCode)
	}
	l := logs.String()
	for _, want := range []string{"converted a mattermost-push-proxy.json configuration", "ApplePushSettings[0] (apple): no ApplePushCertPrivate or AppleAuthKeyFile set; app skipped"} {
		if !strings.Contains(l, want) {
			t.Errorf("logs lack %q:\n%s", want, l)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(l), "{") {
		t.Errorf("LogFormat plain gave JSON lines:\n%s", l)
	}
}
