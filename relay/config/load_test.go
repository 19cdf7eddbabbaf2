package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseAppliesDefaults(t *testing.T) {
	f, err := Parse([]byte(`
apps:
- platform: android_rn
  kind: android
  fcm: {serviceAccountFile: /creds/fcm.json}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, ":8066"},
		{"perTry", c.Timeouts.PerTry.Std(), 8 * time.Second},
		{"send", c.Timeouts.Send.Std(), 30 * time.Second},
		{"shutdownDelay", c.Timeouts.ShutdownDelay.Std(), 5 * time.Second},
		{"throttle", c.Throttle.PerSecond, 300.0},
		{"burst", c.Throttle.Burst, 300},
		{"maxCallers", c.Throttle.MaxCallers, 50000},
		{"contentPolicy", c.ContentPolicy, ContentFull},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "json"},
		{"metrics", c.MetricsEnabled(), true},
		{"legacy", f.Legacy, false},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParseFullYAML(t *testing.T) {
	f, err := Parse([]byte(`
listen: ":9443"
tls: {certFile: /tls/tls.crt, keyFile: /tls/tls.key, minVersion: "1.3"}
apps:
- platform: apple_rn
  kind: apple
  apns: {topic: com.example.chat, environment: development, authKeyFile: /k/key.p8, keyID: ABC, teamID: TEAM}
- platform: apple_voip_rn
  kind: apple
  apns: {topic: com.example.chat, voip: true, certificateFile: /k/voip.p12, certificatePasswordFile: /k/pw}
- platform: hosted
  kind: forward
  forward: {upstreamURL: "https://push.mattermost.com"}
timeouts: {perTry: 2s, send: 10s, shutdownDelay: 0s}
throttle: {perSecond: -1}
contentPolicy: id_only
callerAuth: {allowedServerIDs: [abc], tokenFile: /auth/token, clientCAFile: /auth/ca.crt}
log: {level: debug, format: plain}
metrics: {enabled: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	if c.Apps[0].APNs.Environment != APNsDevelopment || c.Apps[1].APNs.Environment != APNsProduction {
		t.Errorf("environments = %q, %q", c.Apps[0].APNs.Environment, c.Apps[1].APNs.Environment)
	}
	if c.Throttle.Enabled() || c.MetricsEnabled() || c.TLS.MinVersion != "1.3" || c.Timeouts.PerTry.Std() != 2*time.Second {
		t.Errorf("explicit settings lost: %+v", c)
	}
	// An explicit 0s shutdown delay is indistinguishable from unset and gets the default.
	if c.Timeouts.ShutdownDelay != DefaultShutdownDelay {
		t.Errorf("shutdownDelay = %v", c.Timeouts.ShutdownDelay.Std())
	}
}

func TestParseRejects(t *testing.T) {
	android := "apps: [{platform: android, kind: android, fcm: {serviceAccountFile: /f.json}}]\n"
	cases := []struct {
		name, yaml string
		want       []string // every one must appear in the error
	}{
		{"empty", ``, []string{"apps: no app configured"}},
		{"unknown field", android + "listn: ':1'\n", []string{`unknown field "listn"`}},
		{"bad listen", android + "listen: '8066'\n", []string{`listen: "8066" is not a listen address`}},
		{"apple without topic or creds", "apps: [{platform: apple, kind: apple, apns: {}}]",
			[]string{"apps[0].apns.topic: required", "apps[0].apns: no credentials"}},
		{"token auth incomplete", "apps: [{platform: apple, kind: apple, apns: {topic: t, authKeyFile: /k.p8}}]",
			[]string{"apps[0].apns.keyID: required with token auth", "apps[0].apns.teamID: required with token auth"}},
		{"both auths", "apps: [{platform: apple, kind: apple, apns: {topic: t, authKeyFile: /k, keyID: k, teamID: t, certificateFile: /c}}]",
			[]string{"apps[0].apns: both token auth"}},
		{"wrong section", "apps: [{platform: a, kind: android, fcm: {serviceAccountFile: /f}, apns: {topic: t}}]",
			[]string{`apps[0].apns: set on an app of kind "android"`}},
		{"missing section", "apps: [{platform: a, kind: android}]", []string{"apps[0].fcm: required for kind android"}},
		{"bad kind", "apps: [{platform: a, kind: huawei}]", []string{`apps[0].kind: "huawei" is not an app kind`}},
		{"duplicate platform", "apps: [{platform: a, kind: android, fcm: {serviceAccountFile: /f}}, {platform: a, kind: android, fcm: {serviceAccountFile: /g}}]",
			[]string{`apps[1].platform: "a" is already used by apps[0]`}},
		{"version suffix", "apps: [{platform: apple_rn-v2, kind: android, fcm: {serviceAccountFile: /f}}]",
			[]string{`apps[0].platform: "apple_rn-v2" ends in an app version suffix`}},
		{"environment", "apps: [{platform: a, kind: apple, apns: {topic: t, certificateFile: /c, environment: sandbox}}]",
			[]string{`apps[0].apns.environment: "sandbox" is not an APNs environment`}},
		{"forward url", "forward: {upstreamURL: push.mattermost.com}", []string{`forward.upstreamURL: "push.mattermost.com" is not an absolute http(s) URL`}},
		{"per try over send", android + "timeouts: {perTry: 40s}\n", []string{"timeouts.perTry: 40s exceeds timeouts.send 30s"}},
		{"policy", android + "contentPolicy: none\n", []string{`contentPolicy: "none" is not a content policy`}},
		{"client CA without TLS", android + "callerAuth: {clientCAFile: /ca}\n", []string{"callerAuth.clientCAFile: client certificates need HTTPS"}},
		{"tls incomplete", android + "tls: {certFile: /c, minVersion: '1.1'}\n", []string{"tls.keyFile: required", `tls.minVersion: "1.1" is not supported`}},
		{"log", android + "log: {level: loud, format: xml}\n", []string{`log.level: "loud"`, `log.format: "xml"`}},
		{"bad duration", android + "timeouts: {send: 30}\n", []string{"duration must be a string"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "reading relay configuration") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "relay.yaml")
	if err := os.WriteFile(p, []byte("forward: {upstreamURL: 'https://push.example.com'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Forward.UpstreamURL != "https://push.example.com" || c.Listen != DefaultListen {
		t.Errorf("got %+v", c)
	}
}
