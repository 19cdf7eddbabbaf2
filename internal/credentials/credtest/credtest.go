// Package credtest makes throw-away push credentials for tests: APNs .p8 keys, APNs PEM
// certificates, Firebase service-account JSON and CA certificates. None is usable with
// Apple or Google.
package credtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"time"

	"github.com/pushops/push-operator/internal/pki"
)

// APNsAuthKey is a .p8 file: a PKCS#8 P-256 key, as Apple issues.
func APNsAuthKey() []byte {
	return pkcs8PEM(must(pki.NewECKey()))
}

// ECKeyOnCurve is a PKCS#8 EC key on another curve, which APNs rejects.
func ECKeyOnCurve(c elliptic.Curve) []byte { return pkcs8PEM(must(ecdsa.GenerateKey(c, rand.Reader))) }

// ServiceAccountJSON is a Firebase service-account key file for projectID.
func ServiceAccountJSON(projectID string) []byte {
	return must(json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     projectID,
		"private_key_id": "0123456789abcdef",
		"private_key":    string(pkcs8PEM(must(pki.NewRSAKey(2048)))),
		"client_email":   "push@" + projectID + ".iam.gserviceaccount.com",
		"token_uri":      "https://oauth2.googleapis.com/token",
	}))
}

// CertificatePEM is a self-signed certificate and its unencrypted private key in one PEM
// file, the way certificate auth PEM files hold them.
func CertificatePEM(commonName string, notAfter time.Time) []byte {
	cert, key := SelfSigned(commonName, notAfter, false)
	return append(cert, key...)
}

// SelfSigned is a self-signed certificate (a CA when isCA) and its key, both PEM.
func SelfSigned(commonName string, notAfter time.Time, isCA bool) (certPEM, keyPEM []byte) {
	leaf := selfSigned(commonName, notAfter, isCA)
	return leaf.CertPEM, leaf.KeyPEM
}

// CertificateP12 is a self-signed certificate and key as a password-protected .p12, in the
// AES-based encoding current macOS and OpenSSL 3 export.
func CertificateP12(commonName string, notAfter time.Time, password string) []byte {
	return must(selfSigned(commonName, notAfter, false).P12(password))
}

// selfSigned is one loose shape for every fixture (certSign and both TLS usages, even on a
// leaf), so the same call makes a relay's serving certificate, a callers' CA or an APNs
// client certificate.
func selfSigned(commonName string, notAfter time.Time, isCA bool) *pki.Leaf {
	return must(pki.SelfSigned(&x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		DNSNames:              []string{commonName},
		NotAfter:              notAfter,
		IsCA:                  isCA,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}, 0))
}

func pkcs8PEM(key any) []byte { return must(pki.PrivateKeyPEM(key)) }

// must panics on err: a test cannot go on without its fixtures.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
