package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pushops/push-operator/relay/push"
)

// SendTestOptions are the flags of `relay send-test`.
type SendTestOptions struct {
	// Server is the relay's base URL, e.g. https://push-relay.chat.svc:8066.
	Server string
	// Platform is the push platform as the app registers it, e.g. apple_rn-v2.
	Platform string
	// Device is the device token.
	Device string
	// ServerID is sent as server_id (the relay requires one).
	ServerID string
	// TokenFile holds a bearer token for caller authentication.
	TokenFile string
	// CAFile is a PEM bundle to trust for the relay's certificate.
	CAFile string
	// CertFile and KeyFile are a client certificate for mTLS.
	CertFile, KeyFile string
	// InsecureSkipVerify skips verifying the relay's certificate.
	InsecureSkipVerify bool
	// Timeout bounds the request (the chat server's is 30 s).
	Timeout time.Duration
}

// SendTest sends the push the chat server's "send a test notification" sends (type test,
// badge -1, a fresh ack_id) and returns the HTTP status and the relay's answer.
func SendTest(ctx context.Context, o SendTestOptions) (int, push.Response, error) {
	var resp push.Response
	if o.Server == "" || o.Platform == "" || o.Device == "" {
		return 0, resp, errors.New("--server, --platform and --device are required")
	}
	client, err := o.client()
	if err != nil {
		return 0, resp, err
	}
	body, err := json.Marshal(&push.Notification{
		AckID: newAckID(), Platform: o.Platform, ServerID: o.ServerID, DeviceID: o.Device,
		Type: push.TypeTest, Badge: push.BadgeUnset, Version: "v2", ContentAvailable: 1,
	})
	if err != nil {
		return 0, resp, err
	}
	url := strings.TrimRight(o.Server, "/") + "/api/v1/send_push"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, resp, fmt.Errorf("--server %q: %w", o.Server, err)
	}
	req.Header.Set("User-Agent", "Mattermost-Bot/1.1 (relay send-test)")
	if o.TokenFile != "" {
		tok, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return 0, resp, fmt.Errorf("reading --token-file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	r, err := client.Do(req)
	if err != nil {
		return 0, resp, fmt.Errorf("sending the test push: %w", err)
	}
	defer r.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return r.StatusCode, resp, fmt.Errorf("reading the answer: %w", err)
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return r.StatusCode, resp, fmt.Errorf("HTTP %d, answer is not a push response: %q", r.StatusCode, truncateForError(raw))
	}
	return r.StatusCode, resp, nil
}

func (o SendTestOptions) client() (*http.Client, error) {
	tc := &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // an explicit flag for test setups
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --ca-file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", o.CAFile)
		}
	}
	if o.CertFile != "" || o.KeyFile != "" {
		kp, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading --cert-file/--key-file: %w", err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// newAckID returns a fresh random ack id, as the chat server makes one per push.
func newAckID() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func truncateForError(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
