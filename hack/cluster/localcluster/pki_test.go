package localcluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

func TestIssuedCertificatesVerifyAgainstTheCA(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)

	certPEM, keyPEM, err := ca.Issue("kube-apiserver", nil, APIAddress, "kubernetes.default.svc")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("certificate and key do not match: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{APIAddress, "kubernetes.default.svc"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("serving certificate not valid for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.example"}); err == nil {
		t.Error("serving certificate valid for a host it was not issued for")
	}

	certPEM, keyPEM, err = ca.Issue("admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := x509.ParseCertificate(pair.Certificate[0])
	if _, err := client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify for client auth: %v", err)
	}
	if got := client.Subject.Organization; len(got) != 1 || got[0] != "system:masters" {
		t.Errorf("client certificate organizations %v, want [system:masters] (the API server's admin group)", got)
	}
}

func TestStepErrorNamesTheStep(t *testing.T) {
	cause := errors.New("ip link add: operation not permitted")
	err := error(&StepError{Step: "set up host network", Err: cause})
	if !strings.Contains(err.Error(), `"set up host network"`) || !errors.Is(err, cause) {
		t.Errorf("got %q; want the step named and the cause wrapped", err)
	}
}
