package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

func (c *Cluster) startEtcd(ctx context.Context) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", etcdClientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort)
	p, err := c.start("etcd", filepath.Join(c.k8s, "etcd"),
		"--name=local", "--data-dir="+c.path("etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=local="+peer, "--listen-metrics-urls=",
		"--unsafe-no-fsync", "--quota-backend-bytes=2147483648")
	if err != nil {
		return err
	}
	return waitFor(ctx, p, time.Minute, "etcd answering", httpCheck(http.DefaultClient, client+"/health"))
}

// adminHTTPClient talks to the API server as the admin.
func (c *Cluster) adminHTTPClient() (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(c.path("pki", "admin.crt"), c.path("pki", "admin.key"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(c.path("pki", "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("cluster CA does not parse")
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}}, nil
}

func (c *Cluster) apiURL() string { return fmt.Sprintf("https://%s:%d", APIAddress, APIPort) }

// startAPIServer runs kube-apiserver with the cluster's own service-account key pair:
// kube-controller-manager signs tokens with it and pods (the operator's manager) get real
// projected tokens, unlike envtest, which keeps its key to itself.
func (c *Cluster) startAPIServer(ctx context.Context) error {
	pki := func(n string) string { return c.path("pki", n) }
	p, err := c.start("kube-apiserver", filepath.Join(c.k8s, "kube-apiserver"),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdClientPort),
		"--bind-address="+APIAddress, fmt.Sprintf("--secure-port=%d", APIPort), "--advertise-address="+APIAddress,
		"--cert-dir="+c.path("apiserver"),
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"),
		"--kubelet-client-certificate="+pki("admin.crt"), "--kubelet-client-key="+pki("admin.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+pki("sa.pub"), "--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range="+ServiceCIDR,
		"--authorization-mode=RBAC", "--allow-privileged=true", "--profiling=false",
		"--endpoint-reconciler-type=lease", "--kubelet-preferred-address-types=InternalIP")
	if err != nil {
		return err
	}
	client, err := c.adminHTTPClient()
	if err != nil {
		return err
	}
	return waitFor(ctx, p, 3*time.Minute, "kube-apiserver ready", httpCheck(client, c.apiURL()+"/readyz"))
}

// startControllers runs kube-controller-manager (all controllers, among them the garbage
// collector and the service-account token controller) and kube-scheduler.
func (c *Cluster) startControllers(ctx context.Context) error {
	kcm, err := c.start("kube-controller-manager", filepath.Join(c.k8s, "kube-controller-manager"),
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--controllers=*",
		"--service-account-private-key-file="+c.path("pki", "sa.key"), "--root-ca-file="+c.path("pki", "ca.crt"),
		"--use-service-account-credentials=false", "--bind-address=127.0.0.1", "--secure-port=10357",
		"--cluster-cidr="+PodCIDR, "--service-cluster-ip-range="+ServiceCIDR)
	if err != nil {
		return err
	}
	sched, err := c.start("kube-scheduler", filepath.Join(c.k8s, "kube-scheduler"),
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10359")
	if err != nil {
		return err
	}
	insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // local health endpoint, self-signed
	}}
	if err := waitFor(ctx, kcm, 2*time.Minute, "kube-controller-manager healthy", httpCheck(insecure, "https://127.0.0.1:10357/healthz")); err != nil {
		return err
	}
	return waitFor(ctx, sched, 2*time.Minute, "kube-scheduler healthy", httpCheck(insecure, "https://127.0.0.1:10359/healthz"))
}
