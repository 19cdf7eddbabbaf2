package localcluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"time"

	"github.com/pushops/push-operator/internal/pki"
)

// CA is a throw-away certificate authority for the cluster (or a demo's serving certificates).
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// NewCA creates a CA valid for two days: a local cluster lives for one run, and the day
// after is slack for a long demo.
func NewCA(name string) (*CA, error) {
	ca, err := pki.NewRoot(&x509.Certificate{
		Subject:  pkix.Name{CommonName: name},
		NotAfter: time.Now().Add(48 * time.Hour),
	})
	if err != nil {
		return nil, err
	}
	return &CA{Cert: ca.Cert, Key: ca.Key, CertPEM: ca.CertPEM}, nil
}

// Issue signs a leaf certificate: a server certificate for hosts (names or IPs) when hosts
// are given, else a client certificate for cn in the organizations. Leaves end an hour
// before the CA so that the chain never outlives its root.
func (ca *CA) Issue(cn string, orgs []string, hosts ...string) (certPEM, keyPEM []byte, err error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: orgs},
		NotAfter:    time.Now().Add(47 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(hosts) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames, tmpl.IPAddresses = pki.SplitHosts(hosts)
	}
	leaf, err := (&pki.CA{Cert: ca.Cert, Key: ca.Key}).Issue(tmpl, 0)
	if err != nil {
		return nil, nil, err
	}
	// Kept in SEC1 ("EC PRIVATE KEY") as before: the control plane and the e2e tools read
	// these files, and only `make e2e` would show a change of form.
	keyDER, err := x509.MarshalECPrivateKey(leaf.Key.(*ecdsa.PrivateKey))
	if err != nil {
		return nil, nil, err
	}
	return leaf.CertPEM, pki.PEM("EC PRIVATE KEY", keyDER), nil
}

// writePKI writes the cluster CA, the API server's serving certificate, an admin client
// certificate (system:masters; the kubelet, controllers and tools all use it), the
// service-account signing key pair and the admin kubeconfig.
func (c *Cluster) writePKI(context.Context) error {
	if err := os.MkdirAll(c.path("pki"), 0o700); err != nil {
		return err
	}
	ca, err := NewCA("push-operator local cluster CA")
	if err != nil {
		return err
	}
	srvCert, srvKey, err := ca.Issue("kube-apiserver", nil, APIAddress, APIServiceIP, "127.0.0.1", "localhost",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
	if err != nil {
		return err
	}
	adminCert, adminKey, err := ca.Issue("admin", []string{"system:masters"})
	if err != nil {
		return err
	}
	saKey, err := pki.NewRSAKey(2048)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt": ca.CertPEM, "apiserver.crt": srvCert, "apiserver.key": srvKey,
		"admin.crt": adminCert, "admin.key": adminKey,
		"sa.key": pki.PEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey)), "sa.pub": pki.PEM("PUBLIC KEY", saPub),
	}
	for name, data := range files {
		if err := os.WriteFile(c.path("pki", name), data, 0o600); err != nil {
			return err
		}
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://%s:%d
    certificate-authority: %s
users:
- name: admin
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
`, APIAddress, APIPort, c.path("pki", "ca.crt"), c.path("pki", "admin.crt"), c.path("pki", "admin.key"))
	return os.WriteFile(c.Kubeconfig, []byte(kubeconfig), 0o600)
}
