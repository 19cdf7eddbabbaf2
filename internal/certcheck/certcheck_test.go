package certcheck_test

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/pushops/push-operator/internal/certcheck"
	"github.com/pushops/push-operator/internal/certcheck/certtest"
)

func TestJudgeEveryVerdict(t *testing.T) {
	now := time.Now()
	host := "chat.example.com"
	root := certtest.NewRoot("Test Root")
	inter := root.NewIntermediate("Test Intermediate")
	otherRoot := certtest.NewRoot("Unknown Private CA")
	otherInter := otherRoot.NewIntermediate("Unknown Private Intermediate")

	trusted := x509.NewCertPool()
	trusted.AddCert(root.Cert)

	good := inter.Issue([]string{host, "*.example.org"}, certtest.Options{})
	direct := root.Issue([]string{host}, certtest.Options{})
	selfSigned := certtest.SelfSigned([]string{host}, certtest.Options{})
	private := otherInter.Issue([]string{host}, certtest.Options{})
	expired := inter.Issue([]string{host}, certtest.Options{NotBefore: now.Add(-100 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	future := inter.Issue([]string{host}, certtest.Options{NotBefore: now.Add(24 * time.Hour)})
	soon := inter.Issue([]string{host}, certtest.Options{NotBefore: now.Add(-80 * 24 * time.Hour), NotAfter: now.Add(10 * 24 * time.Hour)})
	wrongHost := inter.Issue([]string{"other.example.com"}, certtest.Options{})
	weak := inter.Issue([]string{host}, certtest.Options{RSABits: 1024})
	rsa2048 := inter.Issue([]string{host}, certtest.Options{RSABits: 2048})
	otherKey := inter.Issue([]string{host}, certtest.Options{})

	cases := []struct {
		name    string
		cert    []byte
		key     []byte
		ca      []byte
		hosts   []string
		roots   *x509.CertPool
		want    certcheck.Verdict
		message string
	}{
		{name: "full chain from a trusted root", cert: certtest.Chain(good.CertPEM, inter.PEM), key: good.KeyPEM, want: certcheck.Valid, message: "chains to a trusted root"},
		{name: "wildcard SAN covers an extra host", cert: certtest.Chain(good.CertPEM, inter.PEM), key: good.KeyPEM, hosts: []string{host, "push.example.org"}, want: certcheck.Valid},
		{name: "leaf issued by the root itself", cert: direct.CertPEM, key: direct.KeyPEM, want: certcheck.Valid},
		{name: "RSA 2048 is strong enough", cert: certtest.Chain(rsa2048.CertPEM, inter.PEM), key: rsa2048.KeyPEM, want: certcheck.Valid},
		{name: "served root in the chain is harmless", cert: certtest.Chain(good.CertPEM, inter.PEM, root.PEM), key: good.KeyPEM, want: certcheck.Valid},
		{name: "self-signed", cert: selfSigned.CertPEM, key: selfSigned.KeyPEM, want: certcheck.SelfSigned, message: "ACME"},
		{name: "private CA not trusted", cert: certtest.Chain(private.CertPEM, otherInter.PEM, otherRoot.PEM), key: private.KeyPEM, want: certcheck.UntrustedRoot, message: "Unknown Private CA"},
		{name: "private CA named only in ca.crt", cert: certtest.Chain(private.CertPEM, otherInter.PEM), ca: otherRoot.PEM, key: private.KeyPEM, want: certcheck.UntrustedRoot, message: "trustedCABundle"},
		{name: "private CA trusted through the bundle", cert: certtest.Chain(private.CertPEM, otherInter.PEM), key: private.KeyPEM, roots: poolOf(otherRoot.Cert), want: certcheck.Valid},
		{name: "missing intermediate", cert: good.CertPEM, key: good.KeyPEM, want: certcheck.IncompleteChain, message: "Test Intermediate"},
		{name: "expired", cert: certtest.Chain(expired.CertPEM, inter.PEM), key: expired.KeyPEM, want: certcheck.Expired, message: "expired on"},
		{name: "not yet valid", cert: certtest.Chain(future.CertPEM, inter.PEM), key: future.KeyPEM, want: certcheck.NotYetValid},
		{name: "expiring within 30 days", cert: certtest.Chain(soon.CertPEM, inter.PEM), key: soon.KeyPEM, want: certcheck.ExpiringSoon, message: "less than 30 days"},
		{name: "wrong host", cert: certtest.Chain(wrongHost.CertPEM, inter.PEM), key: wrongHost.KeyPEM, want: certcheck.HostMismatch, message: `"chat.example.com"`},
		{name: "an extra host not covered", cert: certtest.Chain(good.CertPEM, inter.PEM), key: good.KeyPEM, hosts: []string{host, "legacy.example.com"}, want: certcheck.HostMismatch, message: "legacy.example.com"},
		{name: "mismatched key", cert: certtest.Chain(good.CertPEM, inter.PEM), key: otherKey.KeyPEM, want: certcheck.KeyMismatch, message: "tls.key"},
		{name: "weak RSA key", cert: certtest.Chain(weak.CertPEM, inter.PEM), key: weak.KeyPEM, want: certcheck.WeakKey, message: "RSA 1024 bits"},
		{name: "not PEM at all", cert: []byte("hello"), key: good.KeyPEM, want: certcheck.Malformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hosts := tc.hosts
			if hosts == nil {
				hosts = []string{host}
			}
			roots := tc.roots
			if roots == nil {
				roots = trusted
			}
			got := certcheck.Judge(certcheck.Input{CertPEM: tc.cert, KeyPEM: tc.key, CAPEM: tc.ca, Hosts: hosts, Roots: roots, Now: now})
			if got.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", got.Verdict, got.Message, tc.want)
			}
			if !strings.Contains(got.Message, tc.message) {
				t.Errorf("message %q does not mention %q", got.Message, tc.message)
			}
			if tc.want != certcheck.Malformed && (got.NotAfter.IsZero() || got.Issuer == "") {
				t.Errorf("leaf facts missing: notAfter %v issuer %q", got.NotAfter, got.Issuer)
			}
			if got.Verdict.Accepted() != (tc.want == certcheck.Valid || tc.want == certcheck.ExpiringSoon) {
				t.Errorf("Accepted() = %v for %s", got.Verdict.Accepted(), got.Verdict)
			}
		})
	}
}

func TestSystemRootsDoNotTrustAPrivateRoot(t *testing.T) {
	root := certtest.NewRoot("Test Root")
	leaf := root.Issue([]string{"chat.example.com"}, certtest.Options{})
	roots, err := certcheck.RootsWithBundle(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := certcheck.Judge(certcheck.Input{CertPEM: certtest.Chain(leaf.CertPEM, root.PEM), KeyPEM: leaf.KeyPEM, Hosts: []string{"chat.example.com"}, Roots: roots, Now: time.Now()})
	if got.Verdict != certcheck.UntrustedRoot {
		t.Fatalf("verdict %s, want UntrustedRoot against the system roots", got.Verdict)
	}
	withBundle, err := certcheck.RootsWithBundle(root.PEM)
	if err != nil {
		t.Fatal(err)
	}
	got = certcheck.Judge(certcheck.Input{CertPEM: certtest.Chain(leaf.CertPEM, root.PEM), KeyPEM: leaf.KeyPEM, Hosts: []string{"chat.example.com"}, Roots: withBundle, Now: time.Now()})
	if got.Verdict != certcheck.Valid {
		t.Fatalf("verdict %s (%s), want Valid with the root in the bundle", got.Verdict, got.Message)
	}
	if _, err := certcheck.RootsWithBundle([]byte("not pem")); err == nil {
		t.Error("a bundle without certificates was accepted")
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func BenchmarkJudgeValidChain(b *testing.B) {
	root := certtest.NewRoot("Bench Root")
	inter := root.NewIntermediate("Bench Intermediate")
	leaf := inter.Issue([]string{"chat.example.com"}, certtest.Options{})
	in := certcheck.Input{CertPEM: certtest.Chain(leaf.CertPEM, inter.PEM), KeyPEM: leaf.KeyPEM, Hosts: []string{"chat.example.com"}, Roots: poolOf(root.Cert), Now: time.Now()}
	for b.Loop() {
		if certcheck.Judge(in).Verdict != certcheck.Valid {
			b.Fatal("not valid")
		}
	}
}
