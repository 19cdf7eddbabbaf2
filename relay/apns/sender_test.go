package apns_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/pushops/push-operator/relay/apns"
	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/retry"
)

// rig is a fake APNs with a token-auth app configured against it.
type rig struct {
	fake *fake.APNs
	ca   *fake.CA
	dir  string
	app  *config.APNs
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ca, err := fake.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fake.NewAPNs("", ca)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	dir := t.TempDir()
	p8, key, err := fake.APNsAuthKey()
	if err != nil {
		t.Fatal(err)
	}
	f.TrustKey("KEY1", &key.PublicKey)
	write(t, dir, "key.p8", p8)
	write(t, dir, "ca.pem", ca.CertPEM)
	return &rig{fake: f, ca: ca, dir: dir, app: &config.APNs{
		Topic: "com.example.chat", AuthKeyFile: filepath.Join(dir, "key.p8"), KeyID: "KEY1", TeamID: "TEAM1",
		Endpoint: f.URL(), CAFile: filepath.Join(dir, "ca.pem"),
	}}
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) sender(t *testing.T, perTry time.Duration) (*apns.Sender, *metrics.Metrics) {
	t.Helper()
	m := metrics.New()
	s, err := apns.New("apple_rn", r.app, apns.Options{
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
	return &push.Notification{Type: push.TypeMessage, ServerID: "srv1", DeviceID: token, Platform: "apple_rn",
		Message: "hello", ChannelID: "ch1", Badge: 1, Version: "v2"}
}

func send(t *testing.T, s *apns.Sender, n *push.Notification) push.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, n)
}

func TestDeliversWithTokenAuth(t *testing.T) {
	r := newRig(t)
	s, _ := r.sender(t, 2*time.Second)
	if res := send(t, s, message("device-ok")); res.Status != push.StatusOK || res.Tries != 1 {
		t.Fatalf("got %+v, want OK after 1 try", res)
	}
	reqs := r.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("fake received %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.KeyID != "KEY1" || got.TeamID != "TEAM1" || got.Status != 200 {
		t.Errorf("provider token key %q team %q status %d", got.KeyID, got.TeamID, got.Status)
	}
	for h, want := range map[string]string{"apns-topic": "com.example.chat", "apns-push-type": "alert", "apns-priority": "10"} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	var p map[string]any
	if err := json.Unmarshal(got.Payload, &p); err != nil || p["channel_id"] != "ch1" {
		t.Errorf("payload %s (%v)", got.Payload, err)
	}
}

func TestRejectsTokensSignedWithAnotherKey(t *testing.T) {
	r := newRig(t)
	_, other, _ := fake.APNsAuthKey()
	r.fake.TrustKey("KEY1", &other.PublicKey) // the fake now expects a different key under KEY1
	s, _ := r.sender(t, 2*time.Second)
	if res := send(t, s, message("device")); res.Status != push.StatusFail || res.Reason != "InvalidProviderToken" || res.Tries != 1 {
		t.Fatalf("got %+v, want FAIL InvalidProviderToken after 1 try", res)
	}
}

func TestCertificateAuth(t *testing.T) {
	for _, format := range []string{"pem", "p12", "legacy p12", "p12 with inline password"} {
		t.Run(format, func(t *testing.T) {
			r := newRig(t)
			const cn = "Apple Push Services: com.example.chat"
			if format == "pem" {
				cert, key, err := r.ca.ClientCertificatePEM(cn, 90*24*time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				write(t, r.dir, "cert.pem", append(cert, key...))
				r.app.CertificateFile = filepath.Join(r.dir, "cert.pem")
			} else {
				p12, err := r.ca.ClientCertificateP12(cn, 90*24*time.Hour, "s3cret")
				if format == "legacy p12" { // 3DES/RC2, as older Keychain exports
					p12, err = legacyP12(r.ca, cn, "s3cret")
				}
				if err != nil {
					t.Fatal(err)
				}
				write(t, r.dir, "cert.p12", p12)
				r.app.CertificateFile = filepath.Join(r.dir, "cert.p12")
				if format == "p12 with inline password" { // as converted from mattermost-push-proxy.json
					r.app.CertificatePassword = "s3cret"
				} else {
					write(t, r.dir, "password", []byte("s3cret\n"))
					r.app.CertificatePasswordFile = filepath.Join(r.dir, "password")
				}
			}
			r.app.AuthKeyFile = ""
			s, _ := r.sender(t, 2*time.Second)
			if until := time.Until(s.CertificateExpiry()); until < 89*24*time.Hour || until > 91*24*time.Hour {
				t.Errorf("certificate expiry in %v, want about 90 days", until)
			}
			if res := send(t, s, message("device")); res.Status != push.StatusOK {
				t.Fatalf("got %+v, want OK", res)
			}
			if reqs := r.fake.Requests(); len(reqs) != 1 || reqs[0].ClientCN != cn {
				t.Fatalf("fake saw %+v, want one request with client certificate %q", reqs, cn)
			}
		})
	}
}

func TestCredentialErrorsSayWhatToFix(t *testing.T) {
	r := newRig(t)
	cases := map[string]func(c *config.APNs){
		"no credentials":   func(c *config.APNs) { c.AuthKeyFile = "" },
		"keyID":            func(c *config.APNs) { c.KeyID = "" },
		"loading auth key": func(c *config.APNs) { c.AuthKeyFile = filepath.Join(r.dir, "missing.p8") },
		"topic":            func(c *config.APNs) { c.Topic = "" },
		"not both":         func(c *config.APNs) { c.CertificateFile = c.AuthKeyFile },
		"holds no PEM":     func(c *config.APNs) { c.CAFile = c.AuthKeyFile },
		"loading certificate": func(c *config.APNs) {
			c.AuthKeyFile, c.CertificateFile = "", filepath.Join(r.dir, "key.p8")
		},
	}
	expired, key, err := r.ca.ClientCertificatePEM("Apple Push Services: com.example.chat", -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	write(t, r.dir, "expired.pem", append(expired, key...))
	cases["expired on"] = func(c *config.APNs) { c.AuthKeyFile, c.CertificateFile = "", filepath.Join(r.dir, "expired.pem") }
	for want, mod := range cases {
		c := *r.app
		mod(&c)
		_, err := apns.New("apple", &c, apns.Options{Metrics: metrics.New(), Log: logr.Discard()})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to mention %q", want, err, want)
		}
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func TestBackgroundPushTypeOption(t *testing.T) {
	r := newRig(t)
	r.app.BackgroundPushType = true
	s, _ := r.sender(t, 2*time.Second)
	clear := &push.Notification{Type: push.TypeClear, ServerID: "srv1", DeviceID: "device", Badge: 0, ChannelID: "ch1"}
	if res := send(t, s, clear); res.Status != push.StatusOK {
		t.Fatalf("got %+v", res)
	}
	got := r.fake.Requests()[0].Header
	if got.Get("apns-push-type") != "background" || got.Get("apns-priority") != "5" {
		t.Errorf("clear sent as %q priority %q, want background priority 5", got.Get("apns-push-type"), got.Get("apns-priority"))
	}
}

func legacyP12(ca *fake.CA, cn, password string) ([]byte, error) {
	certPEM, keyPEM, err := ca.ClientCertificatePEM(cn, 90*24*time.Hour)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return pkcs12.LegacyDES.Encode(pair.PrivateKey, pair.Leaf, nil, password)
}
