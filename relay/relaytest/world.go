// Package relaytest sets up what a relay needs to run in a test against fake APNs and FCM
// (relay/fake): a CA, throw-away credentials written to files laid out like a mounted
// Kubernetes Secret (a "..data" symlink), and a relay configuration pointing at the fakes.
// The relay's in-process and process-level tests share it.
package relaytest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
)

// Platforms the World configures.
const (
	ApplePlatform   = "apple_rn"
	AndroidPlatform = "android_rn"
	appleKeyID      = "KEYID12345"
	appleTeamID     = "TEAM123456"
)

// World is a fake APNs and FCM with credentials for them and a relay configuration.
type World struct {
	t    testing.TB
	Dir  string
	CA   *fake.CA
	APNs *fake.APNs
	FCM  *fake.FCM
	// SecretDir is the "mounted Secret" holding auth-key.p8 and fcm.json behind a
	// ..data symlink, as kubelet lays it out.
	SecretDir string
	// Config is the relay configuration; Write renders it.
	Config *config.Config
	gen    int
}

// NewWorld starts the fakes (stopped at test end) and writes the first credentials.
func NewWorld(t testing.TB) *World {
	t.Helper()
	w := &World{t: t, Dir: t.TempDir()}
	var err error
	if w.CA, err = fake.NewCA("relaytest"); err != nil {
		t.Fatal(err)
	}
	if w.APNs, err = fake.NewAPNs("", w.CA); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.APNs.Close)
	if w.FCM, err = fake.NewFCM("", w.CA); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.FCM.Close)
	caFile := filepath.Join(w.Dir, "fakes-ca.pem")
	w.must(os.WriteFile(caFile, w.CA.CertPEM, 0o600))
	w.SecretDir = filepath.Join(w.Dir, "secret")
	w.must(os.MkdirAll(w.SecretDir, 0o755))
	w.RotateCredentials()

	w.Config = &config.Config{
		Listen: "127.0.0.1:" + FreePort(t),
		Apps: []config.App{
			{Platform: ApplePlatform, Kind: config.AppKindApple, APNs: &config.APNs{
				Topic: "com.example.chat", AuthKeyFile: filepath.Join(w.SecretDir, "auth-key.p8"),
				KeyID: appleKeyID, TeamID: appleTeamID, Endpoint: w.APNs.URL(), CAFile: caFile,
			}},
			{Platform: AndroidPlatform, Kind: config.AppKindAndroid, FCM: &config.FCM{
				ServiceAccountFile: filepath.Join(w.SecretDir, "fcm.json"), Endpoint: w.FCM.URL(), CAFile: caFile,
			}},
		},
		Log: config.Log{Level: "info", Format: "json"},
	}
	return w
}

// RotateCredentials generates a new APNs key and FCM service account, makes the fakes
// trust only them, and swaps them in the way kubelet updates a Secret: a new timestamped
// directory, then an atomic rename of the ..data symlink.
func (w *World) RotateCredentials() {
	w.t.Helper()
	w.gen++
	p8, key, err := fake.APNsAuthKey()
	w.must(err)
	sa, err := fake.NewServiceAccount("relaytest", w.FCM.TokenURL())
	w.must(err)

	gen := filepath.Join(w.SecretDir, fmt.Sprintf("..gen%d", w.gen))
	w.must(os.MkdirAll(gen, 0o755))
	w.must(os.WriteFile(filepath.Join(gen, "auth-key.p8"), p8, 0o600))
	w.must(os.WriteFile(filepath.Join(gen, "fcm.json"), sa.JSON, 0o600))
	// Trust the new credentials before they appear; the old ones stay trusted too, as a
	// real rotation overlaps (Apple keys and Google keys stay valid until revoked).
	w.APNs.TrustKey(appleKeyID, &key.PublicKey)
	w.FCM.TrustServiceAccount(sa)

	tmp := filepath.Join(w.SecretDir, "..data_tmp")
	_ = os.Remove(tmp)
	w.must(os.Symlink(filepath.Base(gen), tmp))
	w.must(os.Rename(tmp, filepath.Join(w.SecretDir, "..data")))
	for _, f := range []string{"auth-key.p8", "fcm.json"} {
		link := filepath.Join(w.SecretDir, f)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			w.must(os.Symlink(filepath.Join("..data", f), link))
		}
	}
}

// Write renders Config as YAML to a file and returns its path.
func (w *World) Write() string {
	w.t.Helper()
	b, err := yaml.Marshal(w.Config)
	w.must(err)
	p := filepath.Join(w.Dir, "relay.yaml")
	w.must(os.WriteFile(p, b, 0o600))
	return p
}

// BaseURL is the relay's URL for Config.Listen over plain HTTP.
func (w *World) BaseURL() string { return "http://" + w.Config.Listen }

func (w *World) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// Eventually polls cond every 20 ms until it holds or timeout passes, then fails the test
// with describe's text.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
