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
	// certPassword protects the APNs .p12, as Apple's exports are.
	certPassword = "p12-password"
)

// World is a fake APNs and FCM with credentials for them and a relay configuration. The
// Apple app uses certificate auth (a .p12 with a password file): the fake APNs records each
// request's client certificate CN, which says which credential generation sent it.
type World struct {
	t    testing.TB
	Dir  string
	CA   *fake.CA
	APNs *fake.APNs
	FCM  *fake.FCM
	// SecretDir is the "mounted Secret" holding apns.p12, apns-password and fcm.json
	// behind a ..data symlink, as kubelet lays it out.
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
				Topic: "com.example.chat", CertificateFile: filepath.Join(w.SecretDir, "apns.p12"),
				CertificatePasswordFile: filepath.Join(w.SecretDir, "apns-password"), Endpoint: w.APNs.URL(), CAFile: caFile,
			}},
			{Platform: AndroidPlatform, Kind: config.AppKindAndroid, FCM: &config.FCM{
				ServiceAccountFile: filepath.Join(w.SecretDir, "fcm.json"), Endpoint: w.FCM.URL(), CAFile: caFile,
			}},
		},
		Log: config.Log{Level: "info", Format: "json"},
	}
	return w
}

// RotateCredentials issues a new APNs certificate (CN CertCN(generation)) and FCM service
// account key and swaps them in the way kubelet updates a Secret: a new timestamped
// directory, then an atomic rename of the ..data symlink.
func (w *World) RotateCredentials() {
	w.t.Helper()
	w.gen++
	p12, err := w.CA.ClientCertificateP12(CertCN(w.gen), 24*time.Hour, certPassword)
	w.must(err)
	sa, err := fake.NewServiceAccount("relaytest", w.FCM.TokenURL())
	w.must(err)

	gen := filepath.Join(w.SecretDir, fmt.Sprintf("..gen%d", w.gen))
	w.must(os.MkdirAll(gen, 0o755))
	w.must(os.WriteFile(filepath.Join(gen, "apns.p12"), p12, 0o600))
	w.must(os.WriteFile(filepath.Join(gen, "apns-password"), []byte(certPassword+"\n"), 0o600))
	w.must(os.WriteFile(filepath.Join(gen, "fcm.json"), sa.JSON, 0o600))
	// The token endpoint trusts the new key from now on; clients built on the old key keep
	// the access tokens they already have, as with Google.
	w.FCM.TrustServiceAccount(sa)

	tmp := filepath.Join(w.SecretDir, "..data_tmp")
	_ = os.Remove(tmp)
	w.must(os.Symlink(filepath.Base(gen), tmp))
	w.must(os.Rename(tmp, filepath.Join(w.SecretDir, "..data")))
	for _, f := range []string{"apns.p12", "apns-password", "fcm.json"} {
		link := filepath.Join(w.SecretDir, f)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			w.must(os.Symlink(filepath.Join("..data", f), link))
		}
	}
}

// CertCN is the APNs client certificate CN of a credential generation (1 at start).
func CertCN(generation int) string {
	return fmt.Sprintf("Apple Push Services: com.example.chat (generation %d)", generation)
}

// Generation is how many times credentials were written (1 after NewWorld).
func (w *World) Generation() int { return w.gen }

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
