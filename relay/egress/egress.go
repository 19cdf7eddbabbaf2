// Package egress builds the HTTP transports the relay's senders use for outbound calls
// (APNs, FCM and its token endpoint, an upstream push service). Every transport honours the
// egress proxy (HTTPS_PROXY / NO_PROXY by default) and can trust extra CA certificates, so
// a TLS-inspecting proxy or a test endpoint works the same way for every sender.
package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// ProxyFunc chooses the proxy for a request, like http.ProxyFromEnvironment.
type ProxyFunc func(*http.Request) (*url.URL, error)

// Options shape an outbound transport.
type Options struct {
	// Proxy selects the egress proxy. Nil means http.ProxyFromEnvironment (HTTPS_PROXY,
	// HTTP_PROXY, NO_PROXY); tests inject their own instead of changing process env.
	Proxy ProxyFunc
	// CAFile, when set, adds its PEM certificates to the system roots.
	CAFile string
	// ClientCertificates are presented to the server (APNs certificate auth).
	ClientCertificates []tls.Certificate
	// MaxConnsPerHost bounds connections per host (0: unlimited). HTTP/2 multiplexes
	// streams over each.
	MaxConnsPerHost int
}

// Transport returns an HTTP/2-capable transport (HTTP/1.1 fallback) for outbound calls.
func Transport(o Options) (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: o.ClientCertificates}
	if o.CAFile != "" {
		pool, err := poolWith(o.CAFile)
		if err != nil {
			return nil, err
		}
		tlsCfg.RootCAs = pool
	}
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	return &http.Transport{
		Proxy: proxy,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 15 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   5 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   100,
		MaxConnsPerHost:       o.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Long-lived HTTP/2 connections to APNs and FCM can die silently (NAT or firewall
		// idle timeouts); a ping after 15 s of silence finds out before a push waits on one.
		HTTP2: &http.HTTP2Config{SendPingTimeout: 15 * time.Second, PingTimeout: 15 * time.Second},
	}, nil
}

// poolWith returns the system roots plus the certificates of caFile.
func poolWith(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// ShortToken shortens a device token for logs: enough to correlate, too little to push.
func ShortToken(token string) string {
	if len(token) <= 8 {
		return "…"
	}
	return token[:8] + "…"
}

// ErrorKind names a transport error for a FAIL reason and a metrics label: "timeout" or
// "transport error". The full error (which may hold a URL with a device token) goes to
// the log only, through Describe.
func ErrorKind(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return "transport error"
}

// Describe is err without the request URL (APNs URLs end with the device token).
func Describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
