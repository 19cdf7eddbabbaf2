package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pushops/push-operator/internal/pki"
	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/relaytest"
)

// serveInBackground starts Serve on a loopback listener and returns its base URL and a
// channel with Serve's result.
func serveInBackground(t *testing.T, h *harness, ctx context.Context, scheme string) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()
	return scheme + "://" + ln.Addr().String(), done
}

func TestGracefulShutdownFinishesInFlightSends(t *testing.T) {
	cfg := testConfig(func(c *config.Config) {
		c.Timeouts.ShutdownDelay = config.Duration(time.Second)
	})
	h := newHarness(t, cfg)
	h.apple.release = make(chan struct{})
	h.apple.started = make(chan struct{}, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	url, done := serveInBackground(t, h, ctx, "http")

	answer := make(chan string, 1)
	go func() {
		resp, err := http.Post(url+"/api/v1/send_push", "", strings.NewReader(applePush))
		if err != nil {
			answer <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-h.apple.started // the push is in flight
	stop()            // SIGTERM

	// During the shutdown delay the relay still serves but is not ready.
	relaytest.Eventually(t, 5*time.Second, func() bool {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatalf("readyz during drain: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}, func() string { return "readyz still 200 after shutdown began" })
	// After the delay the relay stops accepting connections but waits for the send.
	addr := strings.TrimPrefix(url, "http://")
	relaytest.Eventually(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, func() string { return "still accepting connections after the shutdown delay" })
	select {
	case err := <-done:
		t.Fatalf("Serve returned with a send in flight: %v", err)
	default:
	}
	close(h.apple.release)
	if a := <-answer; !strings.Contains(a, `"status":"OK"`) {
		t.Fatalf("in-flight push answered %q", a)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestTLSClientCertsOnlyOnPushRoutes(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	serverCert := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	clientCert := ca.issue(t, dir, "client", x509.ExtKeyUsageClientAuth)
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(func(c *config.Config) {
		c.TLS = &config.TLS{CertFile: serverCert.certFile, KeyFile: serverCert.keyFile}
		c.CallerAuth.ClientCAFile = caFile
		c.Timeouts.ShutdownDelay = config.Duration(10 * time.Millisecond)
	})
	h := newHarness(t, cfg)
	ctx, stop := context.WithCancel(context.Background())
	url, done := serveInBackground(t, h, ctx, "https")
	defer func() { stop(); <-done }()

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	client := func(withCert bool, maxVersion uint16) *http.Client {
		tc := &tls.Config{RootCAs: roots, MaxVersion: maxVersion}
		if withCert {
			kp, err := tls.LoadX509KeyPair(clientCert.certFile, clientCert.keyFile)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{kp}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
	}
	post := func(c *http.Client) (int, string) {
		resp, err := c.Post(url+"/api/v1/send_push", "", strings.NewReader(applePush))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	anon := client(false, 0)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := anon.Get(url + p)
		if err != nil {
			t.Fatalf("GET %s without a client certificate: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s without a client certificate: HTTP %d", p, resp.StatusCode)
		}
	}
	if code, body := post(anon); code != http.StatusUnauthorized || !strings.Contains(body, "client certificate") {
		t.Errorf("push without a client certificate: %d %s", code, body)
	}
	if code, body := post(client(true, 0)); code != 200 || !strings.Contains(body, `"OK"`) {
		t.Errorf("push with a client certificate: %d %s", code, body)
	}
	// TLS 1.1 is refused at the handshake.
	if _, err := client(false, tls.VersionTLS11).Get(url + "/healthz"); err == nil {
		t.Error("TLS 1.1 accepted")
	}
}

func TestServingCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	first := ca.issue(t, dir, "first", x509.ExtKeyUsageServerAuth)
	f := &tlsFiles{certFile: first.certFile, keyFile: first.keyFile}
	if err := f.load(); err != nil {
		t.Fatal(err)
	}
	cert, _ := f.current()
	serial := cert.Leaf.SerialNumber

	second := ca.issue(t, dir, "second", x509.ExtKeyUsageServerAuth)
	for _, p := range [][2]string{{second.certFile, first.certFile}, {second.keyFile, first.keyFile}} {
		b, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.checked = time.Time{} // as if tlsRecheck had passed
	cert, _ = f.current()
	if cert.Leaf.SerialNumber.Cmp(serial) == 0 {
		t.Fatal("certificate not reloaded after the files changed")
	}
	// A broken file keeps the last good certificate.
	if err := os.WriteFile(first.certFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.checked = time.Time{}
	if c, _ := f.current(); c != cert {
		t.Fatal("broken file replaced the certificate")
	}
}

// testCA issues the serving and client certificates these tests write to files.
type testCA struct{ *pki.CA }

type issued struct{ certFile, keyFile string }

func newCA(t *testing.T) testCA {
	t.Helper()
	ca, err := pki.NewRoot(&x509.Certificate{Subject: pkix.Name{CommonName: "test CA"}, NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return testCA{ca}
}

// issue writes a certificate for 127.0.0.1 with the given usage, and its key, into dir.
func (ca testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) issued {
	t.Helper()
	leaf, err := ca.Issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: name}, NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := issued{certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	for path, data := range map[string][]byte{out.certFile: leaf.CertPEM, out.keyFile: leaf.KeyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
