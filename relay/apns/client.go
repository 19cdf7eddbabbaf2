package apns

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/certificate"
	"github.com/sideshow/apns2/token"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/egress"
)

// client is an apns2 client with what the relay needs to know about its credentials.
type client struct {
	*apns2.Client
	transport *http.Transport
	// notAfter is the certificate's expiry (zero for token auth, which does not expire).
	notAfter time.Time
}

// newClient loads the app's credentials and builds its apns2 client: host from environment
// or endpoint, egress proxy and extra CAs from the egress options.
func newClient(c *config.APNs, proxy egress.ProxyFunc) (*client, error) {
	if c == nil {
		return nil, errors.New("the app has no apns section")
	}
	if c.Topic == "" {
		return nil, errors.New("apns.topic (the bundle ID) is empty")
	}
	cl := &client{Client: &apns2.Client{Host: host(c)}}
	opts := egress.Options{Proxy: proxy, CAFile: c.CAFile}
	switch {
	case c.AuthKeyFile != "" && c.CertificateFile != "":
		return nil, errors.New("set either authKeyFile (token auth) or certificateFile, not both")
	case c.AuthKeyFile != "":
		tok, err := loadToken(c)
		if err != nil {
			return nil, err
		}
		cl.Token = tok
	case c.CertificateFile != "":
		cert, err := loadCertificate(c)
		if err != nil {
			return nil, err
		}
		cl.Certificate = cert
		cl.notAfter = cert.Leaf.NotAfter
		opts.ClientCertificates = []tls.Certificate{cert}
	default:
		return nil, errors.New("no credentials: set authKeyFile with keyID and teamID, or certificateFile")
	}
	tr, err := egress.Transport(opts)
	if err != nil {
		return nil, err
	}
	cl.transport = tr
	// No client-wide timeout: each try is bounded by its context (timeouts.perTry).
	cl.HTTPClient = &http.Client{Transport: tr}
	return cl, nil
}

func (c *client) close() { c.transport.CloseIdleConnections() }

func host(c *config.APNs) string {
	switch {
	case c.Endpoint != "":
		return strings.TrimRight(c.Endpoint, "/")
	case c.Environment == config.APNsDevelopment:
		return apns2.HostDevelopment
	default:
		return apns2.HostProduction
	}
}

func loadToken(c *config.APNs) (*token.Token, error) {
	if c.KeyID == "" || c.TeamID == "" {
		return nil, errors.New("token auth needs keyID and teamID")
	}
	key, err := token.AuthKeyFromFile(c.AuthKeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading auth key %s: %w", c.AuthKeyFile, err)
	}
	return &token.Token{AuthKey: key, KeyID: c.KeyID, TeamID: c.TeamID}, nil
}

// loadCertificate reads a PEM (certificate + key) or .p12 file. PKCS#12 is decoded with
// go-pkcs12, which also reads the AES-encrypted files current macOS and OpenSSL 3 export
// (apns2's own decoder only knows the legacy ciphers).
// The password comes from CertificatePassword when set (a converted mattermost-push-proxy.json
// carries it inline), else from CertificatePasswordFile (a mounted Secret).
func loadCertificate(c *config.APNs) (tls.Certificate, error) {
	file := c.CertificateFile
	data, err := os.ReadFile(file)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("reading certificate: %w", err)
	}
	password := c.CertificatePassword
	if password == "" && c.CertificatePasswordFile != "" {
		p, err := os.ReadFile(c.CertificatePasswordFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("reading certificate password: %w", err)
		}
		password = strings.TrimRight(string(p), "\r\n")
	}
	var cert tls.Certificate
	if bytes.Contains(data, []byte("-----BEGIN")) {
		cert, err = certificate.FromPemBytes(data, password)
	} else {
		cert, err = fromP12(data, password)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading certificate %s: %w", file, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("parsing certificate %s: %w", file, err)
		}
	}
	if time.Now().After(cert.Leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("certificate %s expired on %s", file, cert.Leaf.NotAfter.Format(time.DateOnly))
	}
	return cert, nil
}

func fromP12(data []byte, password string) (tls.Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}
