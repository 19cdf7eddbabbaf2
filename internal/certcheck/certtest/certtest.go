// Package certtest generates certificate chains for tests: roots, intermediates and server
// certificates with chosen names, lifetimes and keys, as PEM ready for a kubernetes.io/tls
// Secret. It panics on failure: a test cannot go on without its certificates.
package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"time"

	"github.com/pushops/push-operator/internal/pki"
)

// Authority is a CA that can issue certificates.
type Authority struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// PEM is the CA certificate.
	PEM []byte
}

// Leaf is an issued server certificate.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
}

// Options shape an issued certificate. Zero values give a 90-day P-256 certificate valid
// from an hour ago.
type Options struct {
	NotBefore time.Time
	NotAfter  time.Time
	// RSABits > 0 uses an RSA key of that size instead of ECDSA P-256.
	RSABits int
}

func (o Options) window() (time.Time, time.Time) {
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = nb.Add(90 * 24 * time.Hour)
	}
	return nb, na
}

// NewRoot creates a self-signed root CA.
func NewRoot(name string) *Authority {
	return fromCA(pki.NewRoot(caTemplate(name)))
}

// NewIntermediate creates a CA issued by a.
func (a *Authority) NewIntermediate(name string) *Authority {
	return fromCA(a.ca().NewIntermediate(caTemplate(name)))
}

// caTemplate is a long-lived CA that started a day ago, so that no leaf's chosen window
// falls outside its issuer's and the verdicts under test are about the leaf alone.
func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		Subject:   pkix.Name{CommonName: name, Organization: []string{"push-operator tests"}},
		NotBefore: time.Now().Add(-24 * time.Hour),
		NotAfter:  time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:  x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
}

func fromCA(ca *pki.CA, err error) *Authority {
	must(err)
	return &Authority{Cert: ca.Cert, Key: ca.Key, PEM: ca.CertPEM}
}

// ca signs with a's key; Authority keeps crypto.Signer in its API, but every Authority
// this package makes holds the P-256 key pki gave it.
func (a *Authority) ca() *pki.CA {
	return &pki.CA{Cert: a.Cert, Key: a.Key.(*ecdsa.PrivateKey)}
}

// Issue creates a server certificate for hosts, signed by a.
func (a *Authority) Issue(hosts []string, opts Options) Leaf {
	return toLeaf(a.ca().Issue(serverTemplate(hosts, opts), opts.RSABits))
}

// SelfSigned creates a server certificate signed by its own key.
func SelfSigned(hosts []string, opts Options) Leaf {
	return toLeaf(pki.SelfSigned(serverTemplate(hosts, opts), opts.RSABits))
}

// serverTemplate is a plain serving certificate: hosts as DNS names, serverAuth only.
func serverTemplate(hosts []string, opts Options) *x509.Certificate {
	nb, na := opts.window()
	cn := "server"
	if len(hosts) > 0 {
		cn = hosts[0]
	}
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    hosts,
		NotBefore:   nb,
		NotAfter:    na,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func toLeaf(l *pki.Leaf, err error) Leaf {
	must(err)
	return Leaf{Cert: l.Cert, CertPEM: l.CertPEM, KeyPEM: l.KeyPEM}
}

// Chain concatenates PEM blocks: the leaf, then intermediates, as tls.crt wants them.
func Chain(blocks ...[]byte) []byte {
	var out []byte
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
