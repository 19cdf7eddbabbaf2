// Package fake serves stand-ins for Apple APNs and Google FCM (with its OAuth token
// endpoint) on loopback, and generates throw-away credentials for them. The relay's tests,
// the operator's tests, the e2e run and the local demo (cmd/fakepush) drive the real apns2
// and firebase clients at these fakes.
package fake

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pushops/push-operator/internal/pki"
)

// CA is a throw-away certificate authority: it signs the fakes' serving certificates and
// APNs client certificates. Trust it with CertPEM (e.g. an app's caFile).
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CertPEM is the CA certificate in PEM, ready to write to a caFile.
	CertPEM []byte
}

// NewCA creates a CA valid for a day: long enough for any test or demo run.
func NewCA(name string) (*CA, error) {
	ca, err := pki.NewRoot(&x509.Certificate{
		Subject:  pkix.Name{CommonName: name, Organization: []string{"push-operator fake"}},
		NotAfter: time.Now().Add(24 * time.Hour),
	})
	if err != nil {
		return nil, err
	}
	return &CA{Cert: ca.Cert, Key: ca.Key, CertPEM: ca.CertPEM}, nil
}

// ServerCertificate issues a serving certificate for hosts (DNS names or IPs).
func (ca *CA) ServerCertificate(hosts ...string) (tls.Certificate, error) {
	tmpl := leafTemplate(hosts[0], x509.ExtKeyUsageServerAuth, 24*time.Hour)
	tmpl.DNSNames, tmpl.IPAddresses = pki.SplitHosts(hosts)
	leaf, err := ca.issue(tmpl)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
}

// ClientCertificatePEM issues an APNs-style client certificate (subject CN, e.g.
// "Apple Push Services: com.example.app") valid for validFor, as PEM certificate + key.
func (ca *CA) ClientCertificatePEM(cn string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	leaf, err := ca.issue(leafTemplate(cn, x509.ExtKeyUsageClientAuth, validFor))
	if err != nil {
		return nil, nil, err
	}
	return leaf.CertPEM, leaf.KeyPEM, nil
}

// ClientCertificateP12 issues the same client certificate as a password-protected .p12
// (modern AES encryption, as current macOS and OpenSSL export it), with the CA in the chain.
func (ca *CA) ClientCertificateP12(cn string, validFor time.Duration, password string) ([]byte, error) {
	leaf, err := ca.issue(leafTemplate(cn, x509.ExtKeyUsageClientAuth, validFor))
	if err != nil {
		return nil, err
	}
	return leaf.P12(password, ca.Cert)
}

// issue signs with the CA's fields as they stand, so a CA a caller put together still works.
func (ca *CA) issue(tmpl *x509.Certificate) (*pki.Leaf, error) {
	return (&pki.CA{Cert: ca.Cert, Key: ca.Key}).Issue(tmpl, 0)
}

func leafTemplate(cn string, usage x509.ExtKeyUsage, validFor time.Duration) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		NotAfter:    time.Now().Add(validFor),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
}

// APNsAuthKey generates a token-auth signing key as Apple hands it out: an EC P-256 key
// in a PKCS#8 PEM ".p8" file.
func APNsAuthKey() (p8 []byte, key *ecdsa.PrivateKey, err error) {
	if key, err = pki.NewECKey(); err != nil {
		return nil, nil, err
	}
	if p8, err = pki.PrivateKeyPEM(key); err != nil {
		return nil, nil, err
	}
	return p8, key, nil
}

// ServiceAccount is a generated Google service account.
type ServiceAccount struct {
	ProjectID   string
	ClientEmail string
	Key         *rsa.PrivateKey
	// JSON is the service-account file as the Google console downloads it, with token_uri
	// pointing at the given token endpoint (e.g. FCM.TokenURL()).
	JSON []byte
}

// NewServiceAccount generates a service account with a fresh 2048-bit RSA key.
func NewServiceAccount(projectID, tokenURI string) (*ServiceAccount, error) {
	key, err := pki.NewRSAKey(2048)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.PrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	email := fmt.Sprintf("relay@%s.iam.gserviceaccount.com", projectID)
	doc, err := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     projectID,
		"private_key_id": fmt.Sprintf("%x", pki.Serial().Bytes()),
		"private_key":    string(keyPEM),
		"client_email":   email,
		"client_id":      "100000000000000000000",
		"auth_uri":       "https://accounts.google.com/o/oauth2/auth",
		"token_uri":      tokenURI,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	return &ServiceAccount{ProjectID: projectID, ClientEmail: email, Key: key, JSON: doc}, nil
}
