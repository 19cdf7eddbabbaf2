//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pushops/push-operator/hack/cluster/localcluster"
	"github.com/pushops/push-operator/hack/cluster/stack"
)

// env is the cluster and deployment every step of TestEndToEnd shares.
type env struct {
	s   *stack.Stack
	cs  *kubernetes.Clientset
	ctx context.Context
}

func repoRoot(t *testing.T) string {
	if r := os.Getenv("E2E_REPO_ROOT"); r != "" {
		return r
	}
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestEndToEnd brings up the local cluster once and runs the steps in order; a failed step
// dumps pods, events and logs and stops the rest (they build on each other).
func TestEndToEnd(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("end-to-end tests need Linux (kubelet, containerd)")
	}
	if os.Geteuid() != 0 {
		t.Skip("end-to-end tests need root (kubelet, containerd, network setup); run `sudo make e2e`")
	}
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	c, err := localcluster.Up(ctx, localcluster.Options{RepoRoot: repoRoot(t), Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Down)
	clusterUp := time.Since(started)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{s: &stack.Stack{C: c, RepoRoot: repoRoot(t), Log: os.Stderr}, cs: kubernetes.NewForConfigOrDie(cfg), ctx: ctx}

	steps := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"operator installed with its Helm chart runs as a Pod with a real service-account token", testOperatorInstalled},
		{"relay pods Ready through their probes, admitted under Pod Security restricted", testRelayReady},
		{"push round trip for apple and android from a Pod, relay reached by its DNS name", testRoundTrip},
		{"dead tokens answered REMOVE", testRemove},
		{"credential Secret update reloads without a restart", testCredentialRotation},
		{"rolling update under load loses nothing", testRollingUpdateUnderLoad},
		{"operator Pod deleted: a new leader takes over and nothing churns", testOperatorFailover},
		{"PushService deleted: children garbage-collected", testGarbageCollection},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) { st.fn(t, e) }) {
			t.Log(e.s.Diagnostics(context.Background()))
			t.FailNow()
		}
	}
	t.Logf("FIGURES: cluster up %.1fs, whole e2e %.1fs (before teardown)", clusterUp.Seconds(), time.Since(started).Seconds())
}

func testOperatorInstalled(t *testing.T, e *env) {
	if err := e.s.InstallOperator(e.ctx); err != nil {
		t.Fatal(err)
	}
	pods := podsWithLabel(t, e, stack.OperatorNamespace, "app.kubernetes.io/component=manager")
	if len(pods) != 1 {
		t.Fatalf("want 1 manager pod, got %d", len(pods))
	}
	// The manager talks to the API server with the projected token the cluster signed.
	var mounted bool
	for _, v := range pods[0].Spec.Volumes {
		if v.Projected != nil && strings.HasPrefix(v.Name, "kube-api-access") {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("manager pod has no service-account token volume")
	}
	creds, err := e.s.StartFakes(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.CreateAppNamespace(e.ctx, creds); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = check(); last == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, timeout, last)
		}
		time.Sleep(time.Second)
	}
}

func kubectl(t *testing.T, e *env, args ...string) string {
	t.Helper()
	var out strings.Builder
	if err := e.s.C.Kubectl(e.ctx, &out, args...); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

func apply(t *testing.T, e *env, manifest string) {
	t.Helper()
	if err := e.s.Apply(e.ctx, manifest); err != nil {
		t.Fatal(err)
	}
}

func relayURL(t *testing.T, e *env) string {
	ip, err := e.s.ServiceIP(e.ctx, "push")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://%s:8066", ip)
}
