// Package pki holds the certificate primitives the repo's throw-away authorities share:
// keys, serial numbers, a CA that signs templates, and PEM/.p12 encoding. The fakes of
// APNs and FCM, the certificate and credential fixtures of the tests, and the local
// cluster's PKI are thin layers over it that decide subjects, lifetimes and usages.
// Nothing here is meant to guard real secrets: keys are never stored or rotated.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
)

// NewKey generates a P-256 ECDSA key, or an RSA key of rsaBits when rsaBits > 0: P-256 is
// what every consumer accepts and is fast to make; RSA is for the cases that need it (Google
// service accounts) or test key sizes.
func NewKey(rsaBits int) (crypto.Signer, error) {
	if rsaBits > 0 {
		return NewRSAKey(rsaBits)
	}
	return NewECKey()
}

// NewECKey generates a P-256 ECDSA key.
func NewECKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating P-256 key: %w", err)
	}
	return k, nil
}

// NewRSAKey generates an RSA key of bits.
func NewRSAKey(bits int) (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generating %d-bit RSA key: %w", bits, err)
	}
	return k, nil
}

// Serial returns a random positive serial number below 2^62+1. Random rather than counted
// so that certificates from separate runs or processes (a restarted fake, a second CA)
// never share an issuer and serial, which TLS stacks treat as the same certificate.
func Serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1)) // RFC 5280 wants serials positive
}

// SplitHosts sorts hosts into the DNS names and IP addresses of a certificate's SANs.
func SplitHosts(hosts []string) (dnsNames []string, ips []net.IP) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			dnsNames = append(dnsNames, h)
		}
	}
	return dnsNames, ips
}

// PEM encodes one block.
func PEM(blockType string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
}

// PrivateKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" block, the form Apple's .p8 files,
// Google's service-account files and Go's tls.X509KeyPair all read.
func PrivateKeyPEM(key crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return PEM("PRIVATE KEY", der), nil
}
