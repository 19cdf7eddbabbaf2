package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Kubectl runs bin/k8s/kubectl against the cluster. Its output goes to out (nil: discarded,
// but quoted in the error when it fails).
func (c *Cluster) Kubectl(ctx context.Context, out io.Writer, args ...string) error {
	return c.KubectlStdin(ctx, nil, out, args...)
}

// KubectlStdin is Kubectl with stdin (e.g. `apply -f -`).
func (c *Cluster) KubectlStdin(ctx context.Context, stdin io.Reader, out io.Writer, args ...string) error {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(c.k8s, "kubectl"), append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	cmd.Stdin = stdin
	if out != nil {
		cmd.Stdout = io.MultiWriter(out, &buf)
	} else {
		cmd.Stdout = &buf
	}
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(buf.String()))
	}
	return nil
}

// Attach returns the running cluster described by a state directory (for tools that did not
// start it, like `hack/cluster status`); Down then only removes leftovers.
func Attach(opts Options) (*Cluster, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, dir: opts.StateDir, k8s: filepath.Join(opts.RepoRoot, "bin", "k8s"), log: opts.Log}
	c.Kubeconfig = filepath.Join(c.dir, "admin.kubeconfig")
	return c, nil
}

// LogDir is where the cluster's daemons write their logs (kept after teardown).
func (c *Cluster) LogDir() string { return c.logDir() }

func httpClient() *http.Client { return &http.Client{Timeout: 3 * time.Second} }

// StateDir is the directory holding the cluster's files (hostPath volumes of test pods go
// below it, so teardown removes them).
func (c *Cluster) StateDir() string { return c.dir }

// LogTail is the last n lines of a daemon's log (kubelet, containerd, kube-apiserver, ...),
// for diagnostics on machines where only the test output is kept.
func (c *Cluster) LogTail(name string, n int) string {
	b, err := os.ReadFile(filepath.Join(c.logDir(), name+".log"))
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
