package pki

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func newChain(t *testing.T) (root, inter *CA) {
	t.Helper()
	root, err := NewRoot(&x509.Certificate{Subject: pkix.Name{CommonName: "root"}, NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	inter, err = root.NewIntermediate(&x509.Certificate{Subject: pkix.Name{CommonName: "intermediate"}, NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return root, inter
}

func serverTemplate(hosts ...string) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		NotAfter:    time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	tmpl.DNSNames, tmpl.IPAddresses = SplitHosts(hosts)
	return tmpl
}

func TestLeafFromIntermediateVerifiesAgainstRoot(t *testing.T) {
	root, inter := newChain(t)
	leaf, err := inter.Issue(serverTemplate("push.example.com", "10.0.0.7"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(append(leaf.CertPEM, inter.CertPEM...), leaf.KeyPEM); err != nil {
		t.Fatalf("certificate and key PEM do not pair: %v", err)
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AppendCertsFromPEM(root.CertPEM)
	inters.AppendCertsFromPEM(inter.CertPEM)
	verify := func(host string, usage x509.ExtKeyUsage) error {
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}})
		return err
	}
	for _, host := range []string{"push.example.com", "10.0.0.7"} {
		if err := verify(host, x509.ExtKeyUsageServerAuth); err != nil {
			t.Errorf("leaf does not verify for %s through the intermediate: %v", host, err)
		}
	}
	if verify("other.example.com", x509.ExtKeyUsageServerAuth) == nil {
		t.Error("leaf verifies for a name it was not issued for")
	}
	if verify("push.example.com", x509.ExtKeyUsageClientAuth) == nil {
		t.Error("serverAuth-only leaf verifies for client auth")
	}
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "push.example.com"}); err == nil {
		t.Error("leaf verifies without its intermediate: it was not issued by it")
	}
}

func TestCAsAreCAsAndLeavesAreNot(t *testing.T) {
	root, inter := newChain(t)
	leaf, err := inter.Issue(serverTemplate("a.example"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ca := range []*CA{root, inter} {
		if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Errorf("%s: IsCA=%v keyUsage=%b, want a CA that may sign certificates", ca.Cert.Subject.CommonName, ca.Cert.IsCA, ca.Cert.KeyUsage)
		}
	}
	if leaf.Cert.IsCA {
		t.Error("leaf is a CA")
	}
	if got := time.Until(leaf.Cert.NotBefore); got > -30*time.Minute || got < -ClockSkew-time.Minute {
		t.Errorf("leaf starts %v from now, want about -%v", got, ClockSkew)
	}
}

func TestSerialsDiffer(t *testing.T) {
	_, inter := newChain(t)
	seen := map[string]bool{}
	for range 20 {
		leaf, err := inter.Issue(serverTemplate("a.example"), 0)
		if err != nil {
			t.Fatal(err)
		}
		s := leaf.Cert.SerialNumber
		if s.Sign() <= 0 || seen[s.String()] {
			t.Fatalf("serial %v is not positive or was issued twice", s)
		}
		seen[s.String()] = true
	}
}

func TestRSASizeHonoured(t *testing.T) {
	leaf, err := SelfSigned(serverTemplate("rsa.example"), 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := leaf.Cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 1024 {
		t.Fatalf("public key %T, want a 1024-bit RSA key", leaf.Cert.PublicKey)
	}
	c := leaf.Cert
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("self-signed leaf does not verify with its own key: %v", err)
	}
}

func TestSplitHosts(t *testing.T) {
	dns, ips := SplitHosts([]string{"a.example", "127.0.0.1", "::1", "localhost"})
	if len(dns) != 2 || dns[0] != "a.example" || dns[1] != "localhost" {
		t.Errorf("DNS names %v", dns)
	}
	if len(ips) != 2 || !ips[0].Equal(net.IPv4(127, 0, 0, 1)) || !ips[1].Equal(net.IPv6loopback) {
		t.Errorf("IPs %v", ips)
	}
}

func TestP12RoundTrips(t *testing.T) {
	_, inter := newChain(t)
	leaf, err := inter.Issue(serverTemplate("p12.example"), 0)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := leaf.P12("s3cret", inter.Cert)
	if err != nil {
		t.Fatal(err)
	}
	_, cert, chain, err := pkcs12.DecodeChain(p12, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(leaf.Cert) || len(chain) != 1 || !chain[0].Equal(inter.Cert) {
		t.Errorf("decoded %s with chain of %d, want the leaf and its intermediate", cert.Subject, len(chain))
	}
	if _, _, _, err := pkcs12.DecodeChain(p12, "wrong"); err == nil {
		t.Error("decoded with the wrong password")
	}
}
