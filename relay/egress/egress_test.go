package egress

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShortTokenHidesMostOfTheToken(t *testing.T) {
	if got := ShortToken("3c2f8e51a0c94ff2b1c7d7e6"); got != "3c2f8e51…" {
		t.Errorf("got %q", got)
	}
	if got := ShortToken("short"); got != "…" {
		t.Errorf("a short token shows as %q", got)
	}
}

func TestErrorsNeverCarryTheRequestURL(t *testing.T) {
	err := &url.Error{Op: "Post", URL: "https://api.push.apple.com/3/device/secrettoken", Err: errors.New("connection reset by peer")}
	if d := Describe(fmt.Errorf("pushing: %w", err)); strings.Contains(d, "secrettoken") || !strings.Contains(d, "connection reset") {
		t.Errorf("Describe = %q", d)
	}
	if k := ErrorKind(err); k != "transport error" {
		t.Errorf("ErrorKind = %q", k)
	}
	if k := ErrorKind(fmt.Errorf("x: %w", context.DeadlineExceeded)); k != "timeout" {
		t.Errorf("ErrorKind(deadline) = %q", k)
	}
}

func TestTransportCAFile(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Transport(Options{CAFile: junk}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("junk CA file: %v", err)
	}
	if _, err := Transport(Options{CAFile: filepath.Join(dir, "missing.pem")}); err == nil {
		t.Error("missing CA file accepted")
	}
	tr, err := Transport(Options{})
	if err != nil || tr.Proxy == nil || !tr.ForceAttemptHTTP2 {
		t.Errorf("default transport %+v, %v: want a proxy function and HTTP/2", tr, err)
	}
}
