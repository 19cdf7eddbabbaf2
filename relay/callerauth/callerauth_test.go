package callerauth

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pushops/push-operator/relay/config"
)

func request(auth string, verified bool) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/send_push", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if verified {
		r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{}}}}
	}
	return r
}

func TestCheckTransport(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		cfg        config.CallerAuth
		clientCert bool
		req        *http.Request
		wantReason string // "" means accepted
		wantStatus int
	}{
		{"no auth configured", config.CallerAuth{}, false, request("", false), "", 0},
		{"token ok", config.CallerAuth{TokenFile: tokenFile}, false, request("Bearer s3cret", false), "", 0},
		{"token scheme case-insensitive", config.CallerAuth{TokenFile: tokenFile}, false, request("bearer s3cret", false), "", 0},
		{"token missing", config.CallerAuth{TokenFile: tokenFile}, false, request("", false), ReasonTokenMissing, 401},
		{"basic auth is not a token", config.CallerAuth{TokenFile: tokenFile}, false, request("Basic czNjcmV0", false), ReasonTokenMissing, 401},
		{"token wrong", config.CallerAuth{TokenFile: tokenFile}, false, request("Bearer s3cre", false), ReasonTokenInvalid, 401},
		{"token file missing fails closed", config.CallerAuth{TokenFile: filepath.Join(dir, "none")}, false, request("Bearer s3cret", false), ReasonTokenUnavailable, 401},
		{"client cert required and absent", config.CallerAuth{}, true, request("", false), ReasonClientCertMissing, 401},
		{"client cert verified", config.CallerAuth{}, true, request("", true), "", 0},
		{"cert and token both needed", config.CallerAuth{TokenFile: tokenFile}, true, request("Bearer wrong", true), ReasonTokenInvalid, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rej := New(tc.cfg, tc.clientCert).CheckTransport(tc.req)
			switch {
			case tc.wantReason == "" && rej != nil:
				t.Fatalf("rejected: %+v", rej)
			case tc.wantReason != "" && rej == nil:
				t.Fatal("accepted")
			case rej != nil && (rej.Reason != tc.wantReason || rej.Status != tc.wantStatus || rej.Message == ""):
				t.Fatalf("rejection %+v, want %s/%d", rej, tc.wantReason, tc.wantStatus)
			}
		})
	}
}

func TestCheckServerID(t *testing.T) {
	open := New(config.CallerAuth{}, false)
	if open.CheckServerID("anything") != nil {
		t.Error("no allowlist must allow everyone")
	}
	c := New(config.CallerAuth{AllowedServerIDs: []string{"srv-a", " srv-b "}}, false)
	for id, allowed := range map[string]bool{"srv-a": true, "srv-b": true, "srv-c": false, "": false} {
		rej := c.CheckServerID(id)
		if (rej == nil) != allowed {
			t.Errorf("%q: rejection %+v, want allowed=%v", id, rej, allowed)
		}
		if rej != nil && rej.Status != http.StatusForbidden {
			t.Errorf("%q: status %d", id, rej.Status)
		}
	}
}

func TestTokenRotation(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(tokenFile, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("old")
	now := time.Unix(1_700_000_000, 0)
	c := New(config.CallerAuth{TokenFile: tokenFile}, false)
	c.now = func() time.Time { return now }
	if rej := c.CheckTransport(request("Bearer old", false)); rej != nil {
		t.Fatalf("old token refused: %+v", rej)
	}
	write("new")
	now = now.Add(tokenRefresh)
	if rej := c.CheckTransport(request("Bearer new", false)); rej != nil {
		t.Fatalf("rotated token refused: %+v", rej)
	}
	if c.CheckTransport(request("Bearer old", false)) == nil {
		t.Fatal("old token still accepted after rotation")
	}
	// A file briefly missing during the Secret's symlink swap keeps the last good token.
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	now = now.Add(tokenRefresh)
	if rej := c.CheckTransport(request("Bearer new", false)); rej != nil {
		t.Fatalf("last good token lost while file missing: %+v", rej)
	}
}
