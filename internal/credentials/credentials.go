// Package credentials checks push credentials the way the relay will load them — APNs .p8
// signing keys, APNs .p12/PEM certificates, Firebase service-account JSON, CA bundles and
// serving key pairs — so the operator can refuse to roll out a relay that would fail, and
// say precisely why. It parses with the same libraries the relay uses (apns2).
package credentials

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sideshow/apns2/certificate"
	"github.com/sideshow/apns2/token"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Info is what a valid credential reveals that a person may want to see.
type Info struct {
	// Summary identifies the credential without revealing it: a certificate subject, an
	// FCM project and client, a key's curve.
	Summary string
	// NotAfter is when a certificate expires; zero for credentials that do not.
	NotAfter time.Time
}

// APNsAuthKey checks a .p8 token-auth key: PEM, PKCS#8, ECDSA on P-256 (what Apple issues
// and ES256 needs).
func APNsAuthKey(p8 []byte) (Info, error) {
	key, err := token.AuthKeyFromBytes(p8)
	if err != nil {
		return Info{}, fmt.Errorf("not an APNs .p8 key (PEM-encoded PKCS#8 EC private key): %w", err)
	}
	if key.Curve != elliptic.P256() {
		return Info{}, fmt.Errorf("APNs .p8 key is on curve %s, Apple keys are P-256", key.Curve.Params().Name)
	}
	return Info{Summary: "EC P-256 signing key"}, nil
}

// APNsCertificate checks a certificate-auth credential: PKCS#12 (.p12) or PEM with the
// certificate and its private key, decrypted with password, not yet expired. A trailing
// newline of the password is ignored, as the relay does when it reads the password file.
func APNsCertificate(data []byte, password string, now time.Time) (Info, error) {
	password = strings.TrimRight(password, "\r\n")
	var cert tls.Certificate
	var err error
	if bytes.Contains(data, []byte("-----BEGIN")) {
		cert, err = certificate.FromPemBytes(data, password)
		if err != nil {
			return Info{}, fmt.Errorf("reading the PEM certificate and key: %w", err)
		}
	} else {
		// go-pkcs12, as the relay: it also reads the AES-encrypted files that current macOS
		// and OpenSSL 3 export, which apns2's decoder does not.
		_, leaf, _, err := pkcs12.DecodeChain(data, password)
		if err != nil {
			return Info{}, fmt.Errorf("reading the .p12 certificate (wrong password or not PKCS#12?): %w", err)
		}
		cert.Certificate = [][]byte{leaf.Raw}
	}
	if len(cert.Certificate) == 0 {
		return Info{}, errors.New("the certificate file holds no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return Info{}, fmt.Errorf("parsing the certificate: %w", err)
	}
	info := Info{Summary: "subject " + leaf.Subject.CommonName, NotAfter: leaf.NotAfter}
	if now.After(leaf.NotAfter) {
		return info, &ExpiredError{Subject: leaf.Subject.CommonName, NotAfter: leaf.NotAfter}
	}
	return info, nil
}

// ExpiredError says a certificate's validity has ended.
type ExpiredError struct {
	Subject  string
	NotAfter time.Time
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("certificate %q expired on %s", e.Subject, e.NotAfter.UTC().Format(time.RFC3339))
}

// FCMServiceAccount checks a Firebase service-account JSON: the fields FCM HTTP v1 needs
// and a private key that parses.
func FCMServiceAccount(data []byte) (Info, error) {
	var sa struct {
		Type        string `json:"type"`
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(data, &sa); err != nil {
		return Info{}, fmt.Errorf("service-account file is not JSON: %w", err)
	}
	var missing []string
	for field, v := range map[string]string{"project_id": sa.ProjectID, "client_email": sa.ClientEmail, "private_key": sa.PrivateKey} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, field)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return Info{}, fmt.Errorf("service-account JSON lacks %s", strings.Join(missing, ", "))
	}
	if sa.Type != "" && sa.Type != "service_account" {
		return Info{}, fmt.Errorf("JSON is of type %q, FCM needs a service_account key", sa.Type)
	}
	if err := checkPrivateKeyPEM([]byte(sa.PrivateKey)); err != nil {
		return Info{}, fmt.Errorf("service-account private_key: %w", err)
	}
	return Info{Summary: fmt.Sprintf("project %s, %s", sa.ProjectID, sa.ClientEmail)}, nil
}

func checkPrivateKeyPEM(data []byte) error {
	block, _ := pem.Decode(data)
	if block == nil {
		return errors.New("not PEM")
	}
	if key, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if _, ok := key.(*rsa.PrivateKey); ok {
			return nil
		}
		if _, ok := key.(*ecdsa.PrivateKey); ok {
			return nil
		}
		return fmt.Errorf("unsupported key type %T", key)
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		return fmt.Errorf("not a PKCS#8 or PKCS#1 private key: %w", err)
	}
	return nil
}

// CABundle checks a PEM bundle holds at least one certificate; NotAfter is the earliest
// expiry among them.
func CABundle(data []byte) (Info, error) {
	var n int
	var earliest time.Time
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return Info{}, fmt.Errorf("CA bundle certificate %d: %w", n+1, err)
		}
		n++
		if earliest.IsZero() || c.NotAfter.Before(earliest) {
			earliest = c.NotAfter
		}
	}
	if n == 0 {
		return Info{}, errors.New("no PEM certificate in the CA bundle")
	}
	return Info{Summary: fmt.Sprintf("%d CA certificate(s)", n), NotAfter: earliest}, nil
}

// ServingKeyPair checks a TLS certificate and key match and the certificate is current.
func ServingKeyPair(certPEM, keyPEM []byte, now time.Time) (Info, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return Info{}, fmt.Errorf("serving certificate and key: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return Info{}, fmt.Errorf("parsing the serving certificate: %w", err)
	}
	info := Info{Summary: "subject " + leaf.Subject.CommonName, NotAfter: leaf.NotAfter}
	if now.After(leaf.NotAfter) {
		return info, &ExpiredError{Subject: leaf.Subject.CommonName, NotAfter: leaf.NotAfter}
	}
	return info, nil
}

// Token checks a shared caller token is usable: not empty, no surrounding whitespace
// ambiguity, long enough to resist guessing.
func Token(data []byte) (Info, error) {
	t := strings.TrimSpace(string(data))
	if len(t) < 16 {
		return Info{}, fmt.Errorf("caller token has %d characters, use at least 16", len(t))
	}
	return Info{Summary: fmt.Sprintf("%d-character token", len(t))}, nil
}
