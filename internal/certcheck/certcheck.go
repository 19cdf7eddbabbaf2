// Package certcheck judges a TLS certificate the way a phone's TLS stack will: the mobile
// apps reject self-signed certificates, chains the server does not send in full, expired
// certificates, names not covered by the certificate and weak keys, and there is no "accept
// anyway" button. The operator runs Judge on the Secret an Ingress or Gateway will serve so
// that a user learns about a rejected certificate from `kubectl get mproxy`, not from a
// phone that silently fails to connect.
package certcheck

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Verdict is the outcome of judging a certificate.
type Verdict string

// The verdicts, from "a phone connects" to the reasons it will not.
const (
	Valid           Verdict = "Valid"
	ExpiringSoon    Verdict = "ExpiringSoon" // valid, but renew it: expires within ExpiryWarning
	Malformed       Verdict = "Malformed"
	KeyMismatch     Verdict = "KeyMismatch"
	WeakKey         Verdict = "WeakKey"
	Expired         Verdict = "Expired"
	NotYetValid     Verdict = "NotYetValid"
	HostMismatch    Verdict = "HostMismatch"
	SelfSigned      Verdict = "SelfSigned"
	UntrustedRoot   Verdict = "UntrustedRoot"
	IncompleteChain Verdict = "IncompleteChain"
	Untrusted       Verdict = "Untrusted" // any other chain verification failure
)

// ExpiryWarning is how close to expiry a valid certificate earns a warning.
const ExpiryWarning = 30 * 24 * time.Hour

// Accepted reports whether a phone would connect with a certificate of this verdict.
func (v Verdict) Accepted() bool { return v == Valid || v == ExpiringSoon }

// Input is what Judge looks at.
type Input struct {
	// CertPEM is the served chain (tls.crt): leaf first, then intermediates.
	CertPEM []byte
	// KeyPEM is the private key (tls.key).
	KeyPEM []byte
	// CAPEM is the optional ca.crt of the Secret (cert-manager writes the issuing CA there).
	// It is never trusted; it only tells a private root apart from a missing intermediate.
	CAPEM []byte
	// Hosts must all be covered by the leaf's subject alternative names.
	Hosts []string
	// Roots are the trusted roots; nil means the system roots.
	Roots *x509.CertPool
	// Now is the time of judgement.
	Now time.Time
}

// Result is a verdict with what a person needs to act on it.
type Result struct {
	Verdict Verdict
	// Message says what is wrong and what to do, in one or two sentences.
	Message string
	// The leaf's facts, set whenever the leaf parsed.
	NotAfter time.Time
	Issuer   string
	DNSNames []string
}

const useACME = "Use cert-manager with an ACME issuer such as Let's Encrypt (tls.issuerRef), or a certificate from a public CA."

// Judge decides whether a phone would accept the certificate. Checks run from the most
// fundamental (can it be read at all) to the most specific, and the first failure wins, so
// the message names the one thing to fix first.
func Judge(in Input) Result {
	chain, err := parseChain(in.CertPEM)
	if err != nil {
		return Result{Verdict: Malformed, Message: fmt.Sprintf("tls.crt cannot be read: %v. It must hold PEM certificates, the server's first.", err)}
	}
	leaf := chain[0]
	res := Result{NotAfter: leaf.NotAfter, Issuer: leaf.Issuer.String(), DNSNames: leaf.DNSNames}
	fail := func(v Verdict, format string, args ...any) Result {
		res.Verdict, res.Message = v, fmt.Sprintf(format, args...)
		return res
	}

	if _, err := tls.X509KeyPair(in.CertPEM, in.KeyPEM); err != nil {
		return fail(KeyMismatch, "tls.key does not belong to the certificate in tls.crt (%v): the server could not complete a handshake. Put the matching key and certificate in the Secret.", err)
	}
	if weak := weakness(leaf); weak != "" {
		return fail(WeakKey, "The certificate's key is too weak for phones (%s). Issue a new certificate with an RSA key of at least 2048 bits or an ECDSA P-256 key.", weak)
	}
	if in.Now.After(leaf.NotAfter) {
		return fail(Expired, "The certificate expired on %s. Renew it; cert-manager (tls.issuerRef) renews automatically.", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if in.Now.Before(leaf.NotBefore) {
		return fail(NotYetValid, "The certificate is not valid before %s; check the issuing machine's clock.", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	for _, h := range in.Hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return fail(HostMismatch, "The certificate does not cover %q (it names %s). Issue one whose subject alternative names include every host.", h, describeNames(leaf))
		}
	}
	if v, msg := verifyChain(chain, in); v != Valid {
		return fail(v, "%s", msg)
	}
	if leaf.NotAfter.Sub(in.Now) < ExpiryWarning {
		return fail(ExpiringSoon, "The certificate is valid but expires on %s, in less than 30 days. Renew it now.", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return fail(Valid, "The certificate chains to a trusted root, covers every host and expires on %s.", leaf.NotAfter.UTC().Format(time.RFC3339))
}

// verifyChain verifies the served chain against the trusted roots and, when that fails,
// works out which of the usual mistakes was made.
func verifyChain(chain []*x509.Certificate, in Input) (Verdict, string) {
	leaf := chain[0]
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         in.Roots,
		Intermediates: intermediates,
		CurrentTime:   in.Now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err == nil {
		return Valid, ""
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		return Untrusted, fmt.Sprintf("Phones will reject the certificate: %v.", err)
	}
	if isSelfSigned(leaf) {
		return SelfSigned, "The certificate is self-signed; the mobile apps reject self-signed certificates. " + useACME
	}
	top := topOfChain(chain, in.CAPEM)
	if isSelfSigned(top) {
		return UntrustedRoot, fmt.Sprintf("The certificate is issued by %q, a CA phones do not trust. %s If your phones have this CA installed by device management, add it to tls.trustedCABundle.", top.Subject.String(), useACME)
	}
	return IncompleteChain, fmt.Sprintf("The server does not send the certificate of %q, the issuer of %q, and it is not a trusted root: phones do not fetch missing intermediates. Put the full chain (server certificate, then intermediates) in tls.crt.", top.Issuer.String(), top.Subject.String())
}

// topOfChain follows issuers from the leaf through the served chain and the Secret's ca.crt
// as far as they go.
func topOfChain(chain []*x509.Certificate, caPEM []byte) *x509.Certificate {
	pool := append([]*x509.Certificate(nil), chain[1:]...)
	if extra, err := parseChain(caPEM); err == nil {
		pool = append(pool, extra...)
	}
	cur := chain[0]
	for range len(pool) + 1 {
		if isSelfSigned(cur) {
			return cur
		}
		next := issuerIn(cur, pool)
		if next == nil {
			return cur
		}
		cur = next
	}
	return cur
}

func issuerIn(c *x509.Certificate, pool []*x509.Certificate) *x509.Certificate {
	for _, p := range pool {
		if p.Equal(c) {
			continue
		}
		if c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.Subject.String() == c.Issuer.String() && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// weakness describes why a leaf's key is too weak, or returns "".
func weakness(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Sprintf("RSA %d bits", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return fmt.Sprintf("ECDSA %s", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		// Strong, but iOS and Android TLS stacks do not accept Ed25519 server certificates.
		return "Ed25519, which phone TLS stacks do not support for server certificates"
	default:
		return fmt.Sprintf("unsupported key type %T", k)
	}
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return "signed with " + c.SignatureAlgorithm.String()
	}
	return ""
}

func describeNames(c *x509.Certificate) string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no DNS names"
	}
	return strings.Join(names, ", ")
}

// parseChain reads every CERTIFICATE block of data; other blocks are ignored.
func parseChain(data []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return chain, nil
}

// RootsWithBundle returns the system roots plus the PEM certificates of bundle. A machine
// without system roots (a scratch container) still gets the bundle.
func RootsWithBundle(bundle []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if len(bundle) > 0 && !pool.AppendCertsFromPEM(bundle) {
		return nil, errors.New("the trusted CA bundle holds no PEM certificate")
	}
	return pool, nil
}
