package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// ClockSkew is how far before now certificates start by default, so that a peer whose
// clock runs a little behind still accepts them.
const ClockSkew = time.Hour

// CA is a certificate authority with a P-256 key. Its key is always P-256 because callers
// vary the certificates it signs, never the authority itself.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CertPEM is Cert as PEM, ready for a CA file or a trust bundle.
	CertPEM []byte
}

// Leaf is an issued certificate with its fresh private key.
type Leaf struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// CertPEM is Cert as PEM; KeyPEM is Key as PKCS#8 PEM.
	CertPEM, KeyPEM []byte
}

// NewRoot creates a self-signed CA from tmpl (subject, lifetime, key usage). It completes
// tmpl in place: see completeCA.
func NewRoot(tmpl *x509.Certificate) (*CA, error) {
	return newCA(tmpl, nil)
}

// NewIntermediate creates a CA from tmpl, issued by ca.
func (ca *CA) NewIntermediate(tmpl *x509.Certificate) (*CA, error) {
	return newCA(tmpl, ca)
}

func newCA(tmpl *x509.Certificate, parent *CA) (*CA, error) {
	key, err := NewECKey()
	if err != nil {
		return nil, err
	}
	completeCA(tmpl)
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	cert, err := sign(tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: PEM("CERTIFICATE", cert.Raw)}, nil
}

// completeCA makes tmpl a CA certificate whatever the caller left out: without basic
// constraints and certSign, verifiers refuse the chains it signs.
func completeCA(tmpl *x509.Certificate) {
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	}
	tmpl.KeyUsage |= x509.KeyUsageCertSign
}

// Issue signs tmpl for a fresh key (P-256, or RSA of rsaBits when rsaBits > 0). tmpl is
// used as given, filled in place with a random serial and a NotBefore of now-ClockSkew
// where unset: usages and names are the caller's to say, since that is where callers differ.
func (ca *CA) Issue(tmpl *x509.Certificate, rsaBits int) (*Leaf, error) {
	return issue(tmpl, rsaBits, ca)
}

// SelfSigned is Issue with the certificate signed by its own key.
func SelfSigned(tmpl *x509.Certificate, rsaBits int) (*Leaf, error) {
	return issue(tmpl, rsaBits, nil)
}

func issue(tmpl *x509.Certificate, rsaBits int, ca *CA) (*Leaf, error) {
	key, err := NewKey(rsaBits)
	if err != nil {
		return nil, err
	}
	var signerCert, signerKey = tmpl, crypto.Signer(key)
	if ca != nil {
		signerCert, signerKey = ca.Cert, ca.Key
	}
	cert, err := sign(tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, err
	}
	keyPEM, err := PrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key, CertPEM: PEM("CERTIFICATE", cert.Raw), KeyPEM: keyPEM}, nil
}

// sign fills the serial and start time where unset, signs and parses the result back, so
// callers get the certificate as a verifier will see it.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = Serial()
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-ClockSkew)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("signing certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// P12 encodes the leaf, its key and the chain as a password-protected .p12, with the
// AES-based encryption current macOS and OpenSSL 3 export.
func (l *Leaf) P12(password string, chain ...*x509.Certificate) ([]byte, error) {
	p12, err := pkcs12.Modern.Encode(l.Key, l.Cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("encoding .p12 for %q: %w", l.Cert.Subject.CommonName, err)
	}
	return p12, nil
}
