// Package localcluster brings up a single-node Kubernetes cluster on this machine and tears
// it down again: etcd and kube-apiserver (with the cluster's own service-account signing key,
// so pods get real tokens), kube-controller-manager, kube-scheduler, a kubelet on its own
// containerd (Debian's containerd, runc and CNI plugins with private config, state and socket
// paths) and kube-proxy in iptables mode. Binaries come from bin/k8s (built from Go modules),
// images are imported from OCI archives; nothing is downloaded.
//
// All traffic stays on this machine: the API server listens on an address of a dummy
// interface the cluster creates, pods live on a bridge the cluster creates, and a FORWARD
// rule drops anything from the pod network that would leave through another interface.
// CoreDNS (built from its Go module) answers for cluster.local on the API address, so pods
// reach Services by name (push.chat.svc); it forwards nothing elsewhere.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Fixed addresses and names: one local cluster per machine, so a crashed run's leftovers are
// found (and removed) by the next one.
const (
	NodeName       = "pushop-node"
	APIAddress     = "10.245.0.1" // on the port-less bridge HostLink
	APIPort        = 6443
	HostLink       = "pushop0"
	Bridge         = "pushop-br0"
	PodCIDR        = "10.244.0.0/24"
	ServiceCIDR    = "10.96.0.0/24"
	APIServiceIP   = "10.96.0.1"
	PauseImage     = "registry.k8s.io/pause:3.10"
	ClusterDomain  = "cluster.local" // served by CoreDNS on APIAddress:53
	etcdClientPort = 23790
	etcdPeerPort   = 23800
	isolateChain   = "PUSHOP-ISOLATE"
)

// Options say where things are.
type Options struct {
	// RepoRoot is the push-operator checkout (bin/k8s, bin/images, hack/images).
	RepoRoot string
	// StateDir holds everything the cluster writes (default /var/tmp/push-operator-cluster).
	StateDir string
	// Images are OCI archives to import (default bin/images/*.tar).
	Images []string
	// Log receives the progress lines (default os.Stderr).
	Log io.Writer
}

// Cluster is a running local cluster.
type Cluster struct {
	opts  Options
	dir   string
	k8s   string
	procs []*process
	log   io.Writer
	// Kubeconfig is the cluster-admin kubeconfig (valid on this machine only).
	Kubeconfig string
	// Timings of each step, for the figures in docs/benchmarks.md.
	Timings []StepTiming
}

// StepTiming is how long one step of Up took.
type StepTiming struct {
	Step     string
	Duration time.Duration
}

// StepError names the step that failed.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %q failed: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// DefaultStateDir is where the cluster keeps its files unless told otherwise.
const DefaultStateDir = "/var/tmp/push-operator-cluster"

func (o *Options) defaults() error {
	if o.RepoRoot == "" {
		return errors.New("RepoRoot is required")
	}
	abs, err := filepath.Abs(o.RepoRoot)
	if err != nil {
		return err
	}
	o.RepoRoot = abs
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Images == nil {
		o.Images, _ = filepath.Glob(filepath.Join(o.RepoRoot, "bin", "images", "*.tar"))
	}
	return nil
}

// Up starts the cluster. On failure everything started so far is torn down again and the
// error names the failed step. ctx bounds the whole bring-up.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, dir: opts.StateDir, k8s: filepath.Join(opts.RepoRoot, "bin", "k8s"), log: opts.Log}
	c.Kubeconfig = filepath.Join(c.dir, "admin.kubeconfig")
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"check prerequisites", c.checkPrerequisites},
		{"remove leftovers of an earlier run", func(ctx context.Context) error { return c.cleanLeftovers(ctx) }},
		{"create certificates and kubeconfig", c.writePKI},
		{"set up host network (host interface, forwarding, isolation rule)", c.setupHostNetwork},
		{"start etcd", c.startEtcd},
		{"start kube-apiserver", c.startAPIServer},
		{"start kube-controller-manager and kube-scheduler", c.startControllers},
		{"start CoreDNS (cluster DNS)", c.startDNS},
		{"start containerd", c.startContainerd},
		{"import images (pause and bin/images/*.tar)", c.importImages},
		{"start kubelet and kube-proxy", c.startNode},
		{"wait for the node to be Ready and the default ServiceAccount", c.waitNodeReady},
	}
	total := time.Now()
	for i, s := range steps {
		c.logf("[%d/%d] %s ...", i+1, len(steps), s.name)
		start := time.Now()
		if err := s.fn(ctx); err != nil {
			c.logf("[%d/%d] %s FAILED: %v", i+1, len(steps), s.name, err)
			c.logf("logs of the cluster's processes: %s", c.logDir())
			for _, p := range c.procs {
				c.logf("last lines of %s.log:\n%s", p.name, c.LogTail(p.name, 15))
			}
			if i > 0 { // the first step touches nothing
				c.Down()
			}
			return nil, &StepError{Step: s.name, Err: err}
		}
		d := time.Since(start)
		c.Timings = append(c.Timings, StepTiming{Step: s.name, Duration: d})
		c.logf("[%d/%d] %s done (%.1fs)", i+1, len(steps), s.name, d.Seconds())
	}
	c.logf("cluster up in %.1fs; kubeconfig: %s", time.Since(total).Seconds(), c.Kubeconfig)
	return c, nil
}

func (c *Cluster) logf(format string, args ...any) {
	fmt.Fprintf(c.log, "%s cluster: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}

// Down tears the cluster down completely: workloads, kubelet, containerd and its shims,
// kube-proxy's rules, control plane, mounts, interfaces, the isolation rule and the state
// directory. It reports problems but never stops half-way.
func (c *Cluster) Down() {
	c.logf("tearing down ...")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c.deleteWorkloads(ctx)
	c.stopProcesses()
	if err := c.cleanLeftovers(ctx); err != nil {
		c.logf("warning: %v", err)
	}
	c.logf("torn down in %.1fs", time.Since(start).Seconds())
}
