package senders_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/senders"
)

// env is a fake APNs and FCM with credentials for both in Kubernetes-style Secret dirs.
type env struct {
	ca      *fake.CA
	apns    *fake.APNs
	fcm     *fake.FCM
	apnsDir string
	fcmDir  string
	caFile  string
	cfg     *config.Config
	m       *metrics.Metrics
}

const certCN = "Apple Push Services: com.example.chat"

func newEnv(t *testing.T) *env {
	t.Helper()
	ca, err := fake.NewCA("test CA")
	check(t, err)
	a, err := fake.NewAPNs("", ca)
	check(t, err)
	t.Cleanup(a.Close)
	f, err := fake.NewFCM("", ca)
	check(t, err)
	t.Cleanup(f.Close)
	e := &env{ca: ca, apns: a, fcm: f, m: metrics.New()}
	root := t.TempDir()
	e.apnsDir, e.fcmDir = filepath.Join(root, "apns"), filepath.Join(root, "fcm")
	for _, d := range []string{e.apnsDir, e.fcmDir} {
		check(t, os.Mkdir(d, 0o700))
	}
	e.caFile = filepath.Join(root, "ca.pem")
	check(t, os.WriteFile(e.caFile, ca.CertPEM, 0o600))
	e.writeAPNsCert(t, certCN, 30*24*time.Hour)
	sa, err := fake.NewServiceAccount("chat-project", f.TokenURL())
	check(t, err)
	check(t, fake.UpdateMountedSecret(e.fcmDir, map[string][]byte{"service-account.json": sa.JSON}))
	e.cfg = &config.Config{
		Timeouts: config.Timeouts{PerTry: config.Duration(2 * time.Second), Send: config.Duration(5 * time.Second)},
		Apps: []config.App{{
			Platform: "apple_rn", Kind: config.AppKindApple,
			APNs: &config.APNs{Topic: "com.example.chat", CertificateFile: filepath.Join(e.apnsDir, "cert.pem"),
				Endpoint: a.URL(), CAFile: e.caFile},
		}, {
			Platform: "android_rn", Kind: config.AppKindAndroid,
			FCM: &config.FCM{ServiceAccountFile: filepath.Join(e.fcmDir, "service-account.json"), Endpoint: f.URL(), CAFile: e.caFile},
		}},
	}
	return e
}

func (e *env) writeAPNsCert(t *testing.T, cn string, validFor time.Duration) {
	t.Helper()
	cert, key, err := e.ca.ClientCertificatePEM(cn, validFor)
	check(t, err)
	check(t, fake.UpdateMountedSecret(e.apnsDir, map[string][]byte{"cert.pem": append(cert, key...)}))
}

func (e *env) set(t *testing.T) *senders.Set {
	t.Helper()
	s := senders.New(e.cfg, e.m, logr.Discard(), senders.WithRetryBase(time.Millisecond), senders.WithPollInterval(50*time.Millisecond))
	t.Cleanup(s.Close)
	return s
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func send(t *testing.T, s *senders.Set, platform, token string) push.Result {
	t.Helper()
	sender, ok := s.Lookup(platform)
	if !ok {
		t.Fatalf("no sender for %q", platform)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return sender.Send(ctx, &push.Notification{Type: push.TypeMessage, Platform: platform, ServerID: "srv", DeviceID: token, Message: "hi"})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRoutesPlatformsToTheirApps(t *testing.T) {
	e := newEnv(t)
	s := e.set(t)
	check(t, s.Ready())
	if res := send(t, s, "apple_rn", "ios-device"); res.Status != push.StatusOK {
		t.Errorf("apple_rn: %+v", res)
	}
	if res := send(t, s, "android_rn", "android-device"); res.Status != push.StatusOK {
		t.Errorf("android_rn: %+v", res)
	}
	if e.apns.Count() != 1 || e.fcm.Count() != 1 {
		t.Errorf("APNs saw %d, FCM saw %d pushes; want 1 each", e.apns.Count(), e.fcm.Count())
	}
	if _, ok := s.Lookup("apple"); ok {
		t.Error("an unconfigured platform has a sender without a forward upstream")
	}
	for _, p := range []string{"apple_rn", "android_rn"} {
		if v := testutil.ToFloat64(e.m.AppReady.WithLabelValues(p)); v != 1 {
			t.Errorf("relay_app_ready{%s} = %v", p, v)
		}
	}
	expiry := testutil.ToFloat64(e.m.CredentialExpiry.WithLabelValues("apple_rn"))
	if until := time.Until(time.Unix(int64(expiry), 0)); until < 29*24*time.Hour || until > 31*24*time.Hour {
		t.Errorf("relay_credential_expiry_timestamp_seconds is %v away, want about 30 days", until)
	}
}

func TestUnknownPlatformsGoToTheForwardUpstream(t *testing.T) {
	e := newEnv(t)
	e.cfg.Forward = &config.Forward{UpstreamURL: "https://push.example.com"}
	s := e.set(t)
	check(t, s.Ready())
	known, _ := s.Lookup("apple_rn")
	other, ok := s.Lookup("apple_rnbeta")
	if !ok || other == known {
		t.Errorf("unknown platform: sender %v ok %v, want the forward sender", other, ok)
	}
}

// TestAcksGoUpstreamOnlyInForwardMode: an ack for a forwarded platform reaches the
// upstream's /api/v1/ack; one for an app the relay delivers itself stays here.
func TestAcksGoUpstreamOnlyInForwardMode(t *testing.T) {
	var acks atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/ack" {
			acks.Add(1)
		}
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	}))
	t.Cleanup(upstream.Close)
	e := newEnv(t)
	e.cfg.Forward = &config.Forward{UpstreamURL: upstream.URL}
	s := e.set(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack := &push.Ack{ID: "a1", Platform: "apple_rnbeta", Type: "message"}
	for platform, want := range map[string]bool{"apple_rn": false, "android_rn": false, "apple_rnbeta": true} {
		sender, _ := s.Lookup(platform)
		acker, ok := sender.(push.Acker)
		if !ok {
			t.Fatalf("%s: sender is not an Acker", platform)
		}
		res, forwarded := acker.Ack(ctx, ack)
		if forwarded != want || (want && res.Status != push.StatusOK) {
			t.Errorf("%s: Ack = %+v, forwarded %v; want forwarded %v", platform, res, forwarded, want)
		}
	}
	if n := acks.Load(); n != 1 {
		t.Errorf("upstream received %d acks, want 1", n)
	}
}

func TestAnAppWithoutCredentialsIsNotReadyUntilTheyArrive(t *testing.T) {
	e := newEnv(t)
	missing := filepath.Join(e.fcmDir, "other.json")
	e.cfg.Apps[1].FCM.ServiceAccountFile = missing
	s := e.set(t)
	err := s.Ready()
	if err == nil || !strings.Contains(err.Error(), "android_rn") || !strings.Contains(err.Error(), "other.json") || strings.Contains(err.Error(), "apple_rn") {
		t.Fatalf("Ready() = %v, want it to name android_rn and its missing file only", err)
	}
	if res := send(t, s, "android_rn", "device"); res.Status != push.StatusFail || !strings.Contains(res.Reason, "not ready") {
		t.Errorf("send to an app without credentials: %+v", res)
	}
	if v := testutil.ToFloat64(e.m.AppReady.WithLabelValues("android_rn")); v != 0 {
		t.Errorf("relay_app_ready{android_rn} = %v", v)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	sa, err := fake.NewServiceAccount("chat-project", e.fcm.TokenURL())
	check(t, err)
	check(t, fake.UpdateMountedSecret(e.fcmDir, map[string][]byte{"other.json": sa.JSON}))
	eventually(t, "the app is ready", func() bool { return s.Ready() == nil })
	if res := send(t, s, "android_rn", "device"); res.Status != push.StatusOK {
		t.Errorf("after the credentials arrived: %+v", res)
	}
}

// TestRotatesCredentialsUnderLoad renews the APNs certificate through a Kubernetes-style
// "..data" symlink swap while pushes flow: none fails, and the new certificate is used.
func TestRotatesCredentialsUnderLoad(t *testing.T) {
	e := newEnv(t)
	s := e.set(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()

	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				platform := []string{"apple_rn", "android_rn"}[(w+i)%2]
				res := send(t, s, platform, "device")
				sent.Add(1)
				if res.Status != push.StatusOK {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, platform+": "+res.Reason)
				}
			}
		}()
	}
	eventually(t, "pushes flow", func() bool { return sent.Load() > 20 })
	const renewed = "Apple Push Services: com.example.chat (renewed)"
	e.writeAPNsCert(t, renewed, 365*24*time.Hour)
	eventually(t, "the renewed certificate is used", func() bool {
		reqs := e.apns.Requests()
		return len(reqs) > 0 && reqs[len(reqs)-1].ClientCN == renewed
	})
	before := sent.Load()
	eventually(t, "more pushes flow on the new client", func() bool { return sent.Load() > before+20 })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d pushes failed during the rotation; first: %v", failed.Load(), sent.Load(), firstFailure.Load())
	}
	if v := testutil.ToFloat64(e.m.CredentialReloads.WithLabelValues("apple_rn", "ok")); v != 1 {
		t.Errorf("relay_credential_reloads_total{apple_rn,ok} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(e.m.CredentialReloads.WithLabelValues("android_rn", "ok")); v != 0 {
		t.Errorf("the untouched android app was reloaded %v times", v)
	}
	expiry := time.Unix(int64(testutil.ToFloat64(e.m.CredentialExpiry.WithLabelValues("apple_rn"))), 0)
	if time.Until(expiry) < 300*24*time.Hour {
		t.Errorf("expiry metric still shows %v", expiry)
	}
}

// TestABrokenUpdateKeepsTheWorkingClient: a Secret updated with garbage does not take the
// app down; the failure is counted and the previous credentials keep delivering.
func TestABrokenUpdateKeepsTheWorkingClient(t *testing.T) {
	e := newEnv(t)
	s := e.set(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	check(t, fake.UpdateMountedSecret(e.apnsDir, map[string][]byte{"cert.pem": []byte("not a certificate")}))
	eventually(t, "the failed reload is counted", func() bool {
		return testutil.ToFloat64(e.m.CredentialReloads.WithLabelValues("apple_rn", "error")) == 1
	})
	check(t, s.Ready())
	if res := send(t, s, "apple_rn", "device"); res.Status != push.StatusOK {
		t.Errorf("after a broken update: %+v", res)
	}
	if reqs := e.apns.Requests(); reqs[len(reqs)-1].ClientCN != certCN {
		t.Errorf("sent with %q, want the previous certificate", reqs[len(reqs)-1].ClientCN)
	}
}

// TestReloadsOnFileEventsAlone: with polling practically off, the directory watch alone
// notices a Kubernetes-style Secret update.
func TestReloadsOnFileEventsAlone(t *testing.T) {
	e := newEnv(t)
	s := senders.New(e.cfg, e.m, logr.Discard(), senders.WithPollInterval(time.Hour))
	t.Cleanup(s.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	// Run sets its watches asynchronously; rewrite until the watch has seen one.
	const renewed = "Apple Push Services: com.example.chat (renewed by event)"
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(e.m.CredentialReloads.WithLabelValues("apple_rn", "ok")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no reload after file events")
		}
		e.writeAPNsCert(t, renewed, 48*time.Hour)
		time.Sleep(300 * time.Millisecond)
	}
	if res := send(t, s, "apple_rn", "device"); res.Status != push.StatusOK {
		t.Fatalf("got %+v", res)
	}
	if reqs := e.apns.Requests(); reqs[len(reqs)-1].ClientCN != renewed {
		t.Errorf("sent with %q after the event-driven reload", reqs[len(reqs)-1].ClientCN)
	}
}

func TestPerAppForward(t *testing.T) {
	e := newEnv(t)
	e.cfg.Apps = append(e.cfg.Apps, config.App{Platform: "apple_rnbeta", Kind: config.AppKindForward,
		Forward: &config.Forward{UpstreamURL: "https://push.example.com"}})
	e.cfg.Apps = append(e.cfg.Apps, config.App{Platform: "broken", Kind: config.AppKindForward,
		Forward: &config.Forward{UpstreamURL: "push.example.com"}})
	s := e.set(t)
	if _, ok := s.Lookup("apple_rnbeta"); !ok {
		t.Error("no sender for a forward app")
	}
	err := s.Ready()
	if err == nil || !strings.Contains(err.Error(), "broken") || strings.Contains(err.Error(), "apple_rnbeta") {
		t.Errorf("Ready() = %v, want only the app with the unusable upstream URL named", err)
	}
	if got := s.Platforms(); strings.Join(got, ",") != "android_rn,apple_rn,apple_rnbeta,broken" {
		t.Errorf("Platforms() = %v", got)
	}
}

// TestEveryOutboundCallUsesTheEgressProxy: APNs, FCM and FCM's OAuth token fetch all go
// through the configured proxy (HTTPS_PROXY in production).
func TestEveryOutboundCallUsesTheEgressProxy(t *testing.T) {
	e := newEnv(t)
	proxy, err := fake.NewProxy()
	check(t, err)
	t.Cleanup(proxy.Close)
	var used atomic.Int64
	s := senders.New(e.cfg, e.m, logr.Discard(), senders.WithProxy(func(r *http.Request) (*url.URL, error) {
		used.Add(1)
		return proxy.URL(), nil
	}))
	t.Cleanup(s.Close)
	for _, p := range []string{"apple_rn", "android_rn"} {
		if res := send(t, s, p, "device"); res.Status != push.StatusOK {
			t.Fatalf("%s through the proxy: %+v", p, res)
		}
	}
	tunnels := strings.Join(proxy.Targets(), " ")
	apnsHost := strings.TrimPrefix(e.apns.URL(), "https://")
	fcmHost := strings.TrimPrefix(strings.TrimSuffix(e.fcm.URL(), "/v1"), "https://")
	// The token endpoint and the API share the fake's host: the token fetch opened the
	// tunnelled connection and the send reused it.
	if !strings.Contains(tunnels, apnsHost) || !strings.Contains(tunnels, fcmHost) || e.fcm.TokensIssued() != 1 {
		t.Errorf("proxy tunnelled to %q; want APNs %s and FCM %s", tunnels, apnsHost, fcmHost)
	}
	if used.Load() == 0 {
		t.Error("the proxy function was never asked")
	}
}
