package credentials_test

import (
	"crypto/elliptic"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pushops/push-operator/internal/credentials"
	"github.com/pushops/push-operator/internal/credentials/credtest"
)

func TestAPNsAuthKey(t *testing.T) {
	if _, err := credentials.APNsAuthKey(credtest.APNsAuthKey()); err != nil {
		t.Fatalf("a P-256 .p8 key was rejected: %v", err)
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"not PEM":         {[]byte("hello"), "not an APNs .p8 key"},
		"P-384 key":       {credtest.ECKeyOnCurve(elliptic.P384()), "curve P-384"},
		"RSA certificate": {credtest.CertificatePEM("x", time.Now().Add(time.Hour)), "not an APNs .p8 key"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := credentials.APNsAuthKey(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestAPNsCertificate(t *testing.T) {
	now := time.Now()
	notAfter := now.Add(90 * 24 * time.Hour).Truncate(time.Second)
	info, err := credentials.APNsCertificate(credtest.CertificatePEM("Apple Push Services: com.example.chat", notAfter), "", now)
	if err != nil {
		t.Fatalf("valid PEM certificate rejected: %v", err)
	}
	if !info.NotAfter.Equal(notAfter) || !strings.Contains(info.Summary, "com.example.chat") {
		t.Errorf("info = %+v, want notAfter %s and the subject", info, notAfter)
	}

	_, err = credentials.APNsCertificate(credtest.CertificatePEM("old", now.Add(-time.Minute)), "", now)
	var expired *credentials.ExpiredError
	if !errors.As(err, &expired) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired certificate: got %v, want an *ExpiredError", err)
	}

	p12 := credtest.CertificateP12("Apple Push Services: com.example.chat", notAfter, "s3cret")
	if info, err := credentials.APNsCertificate(p12, "s3cret\n", now); err != nil || !info.NotAfter.Equal(notAfter) {
		t.Errorf(".p12 with its password: info %+v, err %v", info, err)
	}
	if _, err := credentials.APNsCertificate(p12, "wrong", now); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf(".p12 with a wrong password: got %v", err)
	}

	_, err = credentials.APNsCertificate([]byte("definitely not pkcs12"), "secret", now)
	if err == nil || !strings.Contains(err.Error(), ".p12") {
		t.Errorf("garbage .p12: got %v, want a .p12 error", err)
	}
	cert, _ := credtest.SelfSigned("no key", notAfter, false)
	if _, err := credentials.APNsCertificate(cert, "", now); err == nil {
		t.Error("a PEM certificate without its private key was accepted")
	}
}

func TestFCMServiceAccount(t *testing.T) {
	info, err := credentials.FCMServiceAccount(credtest.ServiceAccountJSON("chat-123"))
	if err != nil {
		t.Fatalf("valid service account rejected: %v", err)
	}
	if !strings.Contains(info.Summary, "chat-123") {
		t.Errorf("summary %q does not name the project", info.Summary)
	}
	cases := map[string]struct{ data, want string }{
		"not JSON":           {"{", "not JSON"},
		"missing fields":     {`{"type":"service_account"}`, "lacks client_email, private_key, project_id"},
		"wrong type":         {`{"type":"authorized_user","project_id":"p","client_email":"e","private_key":"k"}`, `type "authorized_user"`},
		"broken key":         {`{"project_id":"p","client_email":"e","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`, "private_key"},
		"key that isn't PEM": {`{"project_id":"p","client_email":"e","private_key":"abc"}`, "not PEM"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := credentials.FCMServiceAccount([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCABundleServingPairAndToken(t *testing.T) {
	later := time.Now().Add(48 * time.Hour)
	ca1, _ := credtest.SelfSigned("ca1", later.Add(time.Hour), true)
	ca2, _ := credtest.SelfSigned("ca2", later, true)
	info, err := credentials.CABundle(append(ca1, ca2...))
	if err != nil || !strings.HasPrefix(info.Summary, "2 CA") || !info.NotAfter.Equal(later.Truncate(time.Second)) {
		t.Errorf("bundle of two: info %+v err %v, want 2 certificates expiring at the earlier date", info, err)
	}
	if _, err := credentials.CABundle([]byte("no pem")); err == nil {
		t.Error("empty CA bundle accepted")
	}

	cert, key := credtest.SelfSigned("push.chat.svc", later, false)
	if _, err := credentials.ServingKeyPair(cert, key, time.Now()); err != nil {
		t.Errorf("matching pair rejected: %v", err)
	}
	_, otherKey := credtest.SelfSigned("other", later, false)
	if _, err := credentials.ServingKeyPair(cert, otherKey, time.Now()); err == nil {
		t.Error("mismatched certificate and key accepted")
	}

	if _, err := credentials.Token([]byte("short\n")); err == nil {
		t.Error("5-character token accepted")
	}
	if _, err := credentials.Token([]byte("0123456789abcdef0123")); err != nil {
		t.Errorf("20-character token rejected: %v", err)
	}
}
