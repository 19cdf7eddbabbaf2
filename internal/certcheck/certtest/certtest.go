// Package certtest generates certificate chains for tests: roots, intermediates and server
// certificates with chosen names, lifetimes and keys, as PEM ready for a kubernetes.io/tls
// Secret.
package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"time"
)

var serial atomic.Int64

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
	return newCA(name, nil)
}

// NewIntermediate creates a CA issued by parent.
func (a *Authority) NewIntermediate(name string) *Authority {
	return newCA(name, a)
}

func newCA(name string, parent *Authority) *Authority {
	key := newKey(0)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"push-operator tests"}},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.Key, parent.Cert
	}
	cert := mustCreate(tmpl, signerCert, key.Public(), signer)
	return &Authority{Cert: cert, Key: key, PEM: encodeCert(cert)}
}

// Issue creates a server certificate for hosts, signed by a.
func (a *Authority) Issue(hosts []string, opts Options) Leaf {
	return issue(hosts, opts, a.Cert, a.Key)
}

// SelfSigned creates a server certificate signed by its own key.
func SelfSigned(hosts []string, opts Options) Leaf {
	return issue(hosts, opts, nil, nil)
}

func issue(hosts []string, opts Options, parent *x509.Certificate, parentKey crypto.Signer) Leaf {
	key := newKey(opts.RSABits)
	nb, na := opts.window()
	cn := "server"
	if len(hosts) > 0 {
		cn = hosts[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     hosts,
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	cert := mustCreate(tmpl, parent, key.Public(), parentKey)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return Leaf{Cert: cert, CertPEM: encodeCert(cert), KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}
}

// Chain concatenates PEM blocks: the leaf, then intermediates, as tls.crt wants them.
func Chain(blocks ...[]byte) []byte {
	var out []byte
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out
}

func newKey(rsaBits int) crypto.Signer {
	var (
		k   crypto.Signer
		err error
	)
	if rsaBits > 0 {
		k, err = rsa.GenerateKey(rand.Reader, rsaBits)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		panic(err)
	}
	return k
}

func mustCreate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}

func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
