// Package fake serves stand-ins for Apple APNs and Google FCM (with its OAuth token
// endpoint) on loopback, and generates throw-away credentials for them. The relay's tests,
// the operator's tests, the e2e run and the local demo (cmd/fakepush) drive the real apns2
// and firebase clients at these fakes.
package fake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// CA is a throw-away certificate authority: it signs the fakes' serving certificates and
// APNs client certificates. Trust it with CertPEM (e.g. an app's caFile).
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CertPEM is the CA certificate in PEM, ready to write to a caFile.
	CertPEM []byte
}

// NewCA creates a CA valid for a day.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"push-operator fake"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der)}, nil
}

// ServerCertificate issues a serving certificate for hosts (DNS names or IPs).
func (ca *CA) ServerCertificate(hosts ...string) (tls.Certificate, error) {
	tmpl := leafTemplate(hosts[0], x509.ExtKeyUsageServerAuth, 24*time.Hour)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certPEM, keyPEM, err := ca.issue(tmpl)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// ClientCertificatePEM issues an APNs-style client certificate (subject CN, e.g.
// "Apple Push Services: com.example.app") valid for validFor, as PEM certificate + key.
func (ca *CA) ClientCertificatePEM(cn string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	return ca.issue(leafTemplate(cn, x509.ExtKeyUsageClientAuth, validFor))
}

// ClientCertificateP12 issues the same client certificate as a password-protected .p12
// (modern AES encryption, as current macOS and OpenSSL export it).
func (ca *CA) ClientCertificateP12(cn string, validFor time.Duration, password string) ([]byte, error) {
	certPEM, keyPEM, err := ca.issue(leafTemplate(cn, x509.ExtKeyUsageClientAuth, validFor))
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return pkcs12.Modern.Encode(pair.PrivateKey, pair.Leaf, []*x509.Certificate{ca.Cert}, password)
}

func (ca *CA) issue(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", keyDER), nil
}

func leafTemplate(cn string, usage x509.ExtKeyUsage, validFor time.Duration) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

// APNsAuthKey generates a token-auth signing key as Apple hands it out: an EC P-256 key
// in a PKCS#8 PEM ".p8" file.
func APNsAuthKey() (p8 []byte, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("PRIVATE KEY", der), key, nil
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
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	email := fmt.Sprintf("relay@%s.iam.gserviceaccount.com", projectID)
	doc, err := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     projectID,
		"private_key_id": fmt.Sprintf("%x", serial().Bytes()),
		"private_key":    string(pemBlock("PRIVATE KEY", der)),
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

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}
