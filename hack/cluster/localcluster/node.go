package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// setupHostNetwork creates the (port-less bridge) interface the API server (and the node) use, turns on
// IPv4 forwarding (remembering the old value) and adds the isolation rule: packets from the
// pod network may only be forwarded onto the cluster's own bridge.
func (c *Cluster) setupHostNetwork(ctx context.Context) error {
	if err := run(ctx, "ip", "link", "add", HostLink, "type", "bridge"); err != nil {
		return err
	}
	if err := run(ctx, "ip", "addr", "add", APIAddress+"/32", "dev", HostLink); err != nil {
		return err
	}
	if err := run(ctx, "ip", "link", "set", HostLink, "up"); err != nil {
		return err
	}
	was, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		return err
	}
	// Remembered in the state directory, so that a teardown after a crash restores it too.
	if err := os.WriteFile(c.path("ip_forward.orig"), was, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enabling IPv4 forwarding: %w", err)
	}
	// Bridged pod-to-pod traffic must pass iptables for Service NAT to be undone on replies.
	_ = run(ctx, "modprobe", "br_netfilter")
	_ = os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("1"), 0o644)
	if err := run(ctx, "iptables", "-w", "-N", isolateChain); err != nil {
		return err
	}
	if err := run(ctx, "iptables", "-w", "-A", isolateChain, "-s", PodCIDR, "!", "-o", Bridge, "-j", "DROP"); err != nil {
		return err
	}
	return run(ctx, "iptables", "-w", "-I", "FORWARD", "1", "-j", isolateChain)
}

func (c *Cluster) containerdSocket() string { return c.path("containerd", "containerd.sock") }

func (c *Cluster) startContainerd(ctx context.Context) error {
	for _, d := range []string{"containerd/root", "containerd/state", "cni/net.d", "cni/ipam"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  # root here lacks CAP_SYS_RESOURCE; sandboxes asking for oom_score_adj -998 would fail
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, c.path("containerd", "root"), c.path("containerd", "state"), c.containerdSocket(),
		c.path("containerd", "containerd.ttrpc.sock"), PauseImage, c.path("cni", "net.d"))
	if err := os.WriteFile(c.path("containerd", "config.toml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	// The node turns Ready once a CNI configuration exists. No ipMasq: pods never reach
	// beyond this machine.
	conflist := map[string]any{
		"cniVersion": "0.4.0", "name": "pushop",
		"plugins": []any{
			map[string]any{"type": "bridge", "bridge": Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{"type": "host-local", "dataDir": c.path("cni", "ipam"),
					"ranges": [][]map[string]string{{{"subnet": PodCIDR}}}, "routes": []map[string]string{{"dst": "0.0.0.0/0"}}}},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, _ := json.MarshalIndent(conflist, "", "  ")
	if err := os.WriteFile(c.path("cni", "net.d", "10-pushop.conflist"), b, 0o644); err != nil {
		return err
	}
	p, err := c.start("containerd", "containerd", "--config", c.path("containerd", "config.toml"))
	if err != nil {
		return err
	}
	return waitFor(ctx, p, time.Minute, "containerd answering", func() error {
		return run(ctx, "ctr", "--address", c.containerdSocket(), "version")
	})
}

// importImages imports the pause image (built once into bin/cluster/pause.tar) and the
// project's images into containerd's k8s.io namespace.
func (c *Cluster) importImages(ctx context.Context) error {
	pause, err := c.pauseImage(ctx)
	if err != nil {
		return fmt.Errorf("building the pause image: %w", err)
	}
	for _, tar := range append([]string{pause}, c.opts.Images...) {
		if err := run(ctx, "ctr", "--address", c.containerdSocket(), "-n", "k8s.io", "images", "import", tar); err != nil {
			return err
		}
		c.logf("  imported %s", filepath.Base(tar))
	}
	return nil
}

func (c *Cluster) pauseImage(ctx context.Context) (string, error) {
	out := filepath.Join(c.opts.RepoRoot, "bin", "cluster")
	tar := filepath.Join(out, "pause.tar")
	if _, err := os.Stat(tar); err == nil {
		return tar, nil
	}
	bin := filepath.Join(out, "bin", "pause")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./hack/cluster/pause")
	build.Dir, build.Env = c.opts.RepoRoot, append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build pause: %w: %s", err, b)
	}
	img := exec.CommandContext(ctx, "go", "run", "./hack/images", "--name", "pause", "--binary", bin,
		"--ref", PauseImage, "--out", out, "--ca-bundle", "", "--description", "pod sandbox for the local cluster")
	img.Dir = c.opts.RepoRoot
	if b, err := img.CombinedOutput(); err != nil {
		return "", fmt.Errorf("hack/images pause: %w: %s", err, b)
	}
	return tar, nil
}

// startDNS runs CoreDNS (bin/k8s/coredns, built from its Go module) as the cluster DNS on
// the API address, port 53: Services and pods by name in cluster.local, from the API server
// through the admin kubeconfig. No forward plugin: names outside the cluster get no answer,
// so nothing is ever asked of a resolver elsewhere.
func (c *Cluster) startDNS(ctx context.Context) error {
	corefile := fmt.Sprintf(`.:53 {
    bind %s
    errors
    health 127.0.0.1:10380
    ready 127.0.0.1:10381
    kubernetes %s in-addr.arpa ip6.arpa {
        kubeconfig %s local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`, APIAddress, ClusterDomain, c.Kubeconfig)
	if err := os.WriteFile(c.path("Corefile"), []byte(corefile), 0o644); err != nil {
		return err
	}
	p, err := c.start("coredns", filepath.Join(c.k8s, "coredns"), "-conf", c.path("Corefile"))
	if err != nil {
		return err
	}
	return waitFor(ctx, p, 2*time.Minute, "CoreDNS ready", httpCheck(httpClient(), "http://127.0.0.1:10381/ready"))
}

func (c *Cluster) kubeletRoot() string { return c.path("kubelet") }

func (c *Cluster) startNode(ctx context.Context) error {
	if err := os.MkdirAll(c.kubeletRoot(), 0o755); err != nil {
		return err
	}
	kubelet := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://%s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %s}
authorization: {mode: AlwaysAllow}
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", nodefs.inodesFree: "1%%", imagefs.available: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
localStorageCapacityIsolation: false
syncFrequency: 10s
resolvConf: ""
clusterDNS: [%s]
clusterDomain: %s
serializeImagePulls: false
`, APIAddress, c.containerdSocket(), c.path("pki", "ca.crt"), APIAddress, ClusterDomain)
	if err := os.WriteFile(c.path("kubelet.yaml"), []byte(kubelet), 0o644); err != nil {
		return err
	}
	kp, err := c.start("kubelet", filepath.Join(c.k8s, "kubelet"), "--config="+c.path("kubelet.yaml"),
		"--kubeconfig="+c.Kubeconfig, "--hostname-override="+NodeName, "--node-ip="+APIAddress,
		"--root-dir="+c.kubeletRoot(), "--cert-dir="+c.path("kubelet-pki"))
	if err != nil {
		return err
	}
	proxy := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %s}
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
bindAddress: 127.0.0.1
metricsBindAddress: 127.0.0.1:10349
healthzBindAddress: 127.0.0.1:10356
iptables: {masqueradeAll: true}
conntrack: {maxPerCore: 0}
nodePortAddresses: [%s/32]
`, c.Kubeconfig, PodCIDR, NodeName, APIAddress)
	if err := os.WriteFile(c.path("kube-proxy.yaml"), []byte(proxy), 0o644); err != nil {
		return err
	}
	pp, err := c.start("kube-proxy", filepath.Join(c.k8s, "kube-proxy"), "--config="+c.path("kube-proxy.yaml"))
	if err != nil {
		return err
	}
	if err := waitFor(ctx, kp, 2*time.Minute, "kubelet healthy", httpCheck(httpClient(), "http://127.0.0.1:10248/healthz")); err != nil {
		return err
	}
	return waitFor(ctx, pp, 2*time.Minute, "kube-proxy healthy", httpCheck(httpClient(), "http://127.0.0.1:10356/healthz"))
}

func (c *Cluster) waitNodeReady(ctx context.Context) error {
	if err := waitFor(ctx, nil, 3*time.Minute, "node Ready", func() error {
		return c.Kubectl(ctx, nil, "wait", "--for=condition=Ready", "node/"+NodeName, "--timeout=5s")
	}); err != nil {
		return err
	}
	return waitFor(ctx, nil, 2*time.Minute, "default ServiceAccount", func() error {
		return c.Kubectl(ctx, nil, "get", "serviceaccount", "default", "-n", "default")
	})
}
