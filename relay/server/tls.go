package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/pushops/push-operator/relay/config"
)

// tlsRecheck is how often the serving certificate and client CA files are checked for a
// change. cert-manager renews by updating the Secret, which kubelet swaps in behind a
// symlink without any event the relay could wait for.
const tlsRecheck = 10 * time.Second

// tlsFiles serves the current certificate and client CAs, reloading them when their files
// change; a failed reload keeps the last good ones (the files may be mid-swap).
type tlsFiles struct {
	certFile, keyFile, caFile string
	log                       logr.Logger

	mu        sync.Mutex
	checked   time.Time
	stamp     string // modification times and sizes of the files last loaded
	cert      *tls.Certificate
	clientCAs *x509.CertPool
}

// newTLSConfig returns the serving TLS configuration. Client certificates are verified at
// the TLS layer when given (VerifyClientCertIfGiven) and required only by the push routes,
// so kubelet probes and Prometheus scrapes keep working without one.
func newTLSConfig(t *config.TLS, clientCAFile string, log logr.Logger) (*tls.Config, error) {
	f := &tlsFiles{certFile: t.CertFile, keyFile: t.KeyFile, caFile: clientCAFile, log: log}
	if err := f.load(); err != nil {
		return nil, err
	}
	minVersion := uint16(tls.VersionTLS12)
	if t.MinVersion == "1.3" {
		minVersion = tls.VersionTLS13
	}
	base := &tls.Config{MinVersion: minVersion, NextProtos: []string{"h2", "http/1.1"}}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cert, cas := f.current()
		c := base.Clone()
		c.GetConfigForClient = nil
		c.Certificates = []tls.Certificate{*cert}
		if cas != nil {
			c.ClientAuth, c.ClientCAs = tls.VerifyClientCertIfGiven, cas
		}
		return c, nil
	}
	return base, nil
}

func (f *tlsFiles) current() (*tls.Certificate, *x509.CertPool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) >= tlsRecheck {
		f.checked = time.Now()
		if stamp := f.fileStamp(); stamp != f.stamp {
			if err := f.loadLocked(); err != nil {
				f.log.Error(err, "reloading TLS files; keeping the previous ones")
			} else {
				f.log.Info("reloaded TLS files")
			}
		}
	}
	return f.cert, f.clientCAs
}

func (f *tlsFiles) load() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = time.Now()
	return f.loadLocked()
}

func (f *tlsFiles) loadLocked() error {
	stamp := f.fileStamp()
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("loading the serving certificate (tls.certFile %s, tls.keyFile %s): %w", f.certFile, f.keyFile, err)
	}
	var pool *x509.CertPool
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return fmt.Errorf("reading callerAuth.clientCAFile: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return errors.New("callerAuth.clientCAFile holds no PEM certificate")
		}
	}
	f.cert, f.clientCAs, f.stamp = &cert, pool, stamp
	return nil
}

func (f *tlsFiles) fileStamp() string {
	s := ""
	for _, p := range []string{f.certFile, f.keyFile, f.caFile} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil {
			s += fmt.Sprintf("%s:%d:%d;", p, fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return s
}
