// Package callerauth decides whether a caller may send pushes through the relay: an
// allowlist of chat server IDs, a shared bearer token read from a mounted Secret file, and
// client certificates verified by the TLS layer. All configured checks must pass; with none
// configured everyone may send, as with the reference push proxy.
package callerauth

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pushops/push-operator/relay/config"
)

// Rejection is why a caller was refused: the HTTP status, a short reason for the metric
// label, and a message for the FAIL answer.
type Rejection struct {
	Status  int
	Reason  string
	Message string
}

// Rejection reasons (relay_auth_rejections_total's reason label).
const (
	ReasonTokenMissing      = "token_missing"
	ReasonTokenInvalid      = "token_invalid"
	ReasonTokenUnavailable  = "token_unavailable"
	ReasonClientCertMissing = "client_cert_missing"
	ReasonServerIDDenied    = "server_id_not_allowed"
)

// tokenRefresh is how long a token read from its file is trusted before the file is read
// again: Kubernetes rotates a mounted Secret by swapping a symlink, without any event the
// relay could wait for, and reading a few bytes every few seconds costs nothing.
const tokenRefresh = 5 * time.Second

// Checker applies a CallerAuth configuration. It is safe for concurrent use.
type Checker struct {
	allowed    map[string]bool
	tokenFile  string
	clientCert bool

	mu        sync.Mutex
	token     []byte
	tokenRead time.Time
	now       func() time.Time
}

// New returns a Checker for cfg. clientCert is whether client certificates are required
// (callerAuth.clientCAFile with TLS on; the TLS layer verifies them against the CA).
func New(cfg config.CallerAuth, clientCert bool) *Checker {
	c := &Checker{tokenFile: cfg.TokenFile, clientCert: clientCert, now: time.Now}
	if len(cfg.AllowedServerIDs) > 0 {
		c.allowed = map[string]bool{}
		for _, id := range cfg.AllowedServerIDs {
			c.allowed[strings.TrimSpace(id)] = true
		}
	}
	return c
}

// CheckTransport checks what a request carries before its body is read: the bearer token
// and the client certificate.
func (c *Checker) CheckTransport(r *http.Request) *Rejection {
	if c.clientCert && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		return &Rejection{http.StatusUnauthorized, ReasonClientCertMissing, "a client certificate signed by the relay's client CA is required"}
	}
	if c.tokenFile == "" {
		return nil
	}
	want, err := c.currentToken()
	if err != nil {
		return &Rejection{http.StatusUnauthorized, ReasonTokenUnavailable, "the relay cannot read its caller token; ask its operator to check callerAuth.tokenFile"}
	}
	got, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return &Rejection{http.StatusUnauthorized, ReasonTokenMissing, "missing bearer token: send Authorization: Bearer <token>"}
	}
	if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
		return &Rejection{http.StatusUnauthorized, ReasonTokenInvalid, "invalid bearer token"}
	}
	return nil
}

// CheckServerID checks a push's server_id against the allowlist.
func (c *Checker) CheckServerID(id string) *Rejection {
	if c.allowed == nil || c.allowed[id] {
		return nil
	}
	return &Rejection{http.StatusForbidden, ReasonServerIDDenied, fmt.Sprintf("server_id %q is not allowed to send through this relay", id)}
}

// currentToken returns the token, re-reading the file when the cached copy is old. A read
// failure keeps the last good token (the file may be mid-swap); with none, it fails closed.
func (c *Checker) currentToken() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.token != nil && now.Sub(c.tokenRead) < tokenRefresh {
		return c.token, nil
	}
	b, err := os.ReadFile(c.tokenFile)
	tok := strings.TrimSpace(string(b))
	switch {
	case err == nil && tok != "":
		c.token, c.tokenRead = []byte(tok), now
	case c.token != nil:
		// keep the last good token until the file is readable again
	case err != nil:
		return nil, fmt.Errorf("reading caller token: %w", err)
	default:
		return nil, fmt.Errorf("caller token file %s is empty", c.tokenFile)
	}
	return c.token, nil
}

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
