// Package credtest makes throw-away push credentials for tests: APNs .p8 keys, APNs PEM
// certificates, Firebase service-account JSON and CA certificates. None is usable with
// Apple or Google.
package credtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// APNsAuthKey is a .p8 file: a PKCS#8 P-256 key, as Apple issues.
func APNsAuthKey() []byte {
	return pkcs8PEM(mustEC(elliptic.P256()))
}

// ECKeyOnCurve is a PKCS#8 EC key on another curve, which APNs rejects.
func ECKeyOnCurve(c elliptic.Curve) []byte { return pkcs8PEM(mustEC(c)) }

// ServiceAccountJSON is a Firebase service-account key file for projectID.
func ServiceAccountJSON(projectID string) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	data, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     projectID,
		"private_key_id": "0123456789abcdef",
		"private_key":    string(pkcs8PEM(key)),
		"client_email":   "push@" + projectID + ".iam.gserviceaccount.com",
		"token_uri":      "https://oauth2.googleapis.com/token",
	})
	if err != nil {
		panic(err)
	}
	return data
}

// CertificatePEM is a self-signed certificate and its unencrypted private key in one PEM
// file, the way certificate auth PEM files hold them.
func CertificatePEM(commonName string, notAfter time.Time) []byte {
	cert, key := SelfSigned(commonName, notAfter, false)
	return append(cert, key...)
}

// SelfSigned is a self-signed certificate (a CA when isCA) and its key, both PEM.
func SelfSigned(commonName string, notAfter time.Time, isCA bool) (certPEM, keyPEM []byte) {
	key := mustEC(elliptic.P256())
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: commonName},
		DNSNames:              []string{commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              notAfter,
		IsCA:                  isCA,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pkcs8PEM(key)
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func pkcs8PEM(key any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// CertificateP12 is a self-signed certificate and key as a password-protected .p12, in the
// AES-based encoding current macOS and OpenSSL 3 export.
func CertificateP12(commonName string, notAfter time.Time, password string) []byte {
	certPEM, keyPEM := SelfSigned(commonName, notAfter, false)
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		panic(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		panic(err)
	}
	p12, err := pkcs12.Modern.Encode(key, cert, nil, password)
	if err != nil {
		panic(err)
	}
	return p12
}
