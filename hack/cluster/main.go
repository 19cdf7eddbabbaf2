// Command cluster runs a local single-node Kubernetes cluster on this machine (root, Linux;
// see hack/cluster/localcluster) and the push-operator demo on it.
//
//	go run ./hack/cluster up     # start the cluster, print the kubeconfig, wait for Ctrl-C, tear down
//	go run ./hack/cluster demo   # the same plus the operator, fakes, a PushService and a test push
//	go run ./hack/cluster down   # remove what a crashed run left behind
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pushops/push-operator/hack/cluster/localcluster"
	"github.com/pushops/push-operator/hack/cluster/stack"
)

func main() {
	fs := flag.NewFlagSet("cluster", flag.ExitOnError)
	repo := fs.String("repo", ".", "push-operator checkout (bin/k8s, bin/images, charts)")
	state := fs.String("state-dir", localcluster.DefaultStateDir, "directory for the cluster's files (removed on teardown)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cluster [flags] up|demo|down")
		fs.PrintDefaults()
	}
	if len(os.Args) < 2 {
		fs.Usage()
		os.Exit(2)
	}
	cmd := os.Args[1]
	_ = fs.Parse(os.Args[2:])
	opts := localcluster.Options{RepoRoot: *repo, StateDir: *state}
	var err error
	switch cmd {
	case "up":
		err = up(opts, false)
	case "demo":
		err = up(opts, true)
	case "down":
		var c *localcluster.Cluster
		if c, err = localcluster.Attach(opts); err == nil {
			c.Down()
		}
	default:
		fs.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func up(opts localcluster.Options, demo bool) error {
	// Ctrl-C during bring-up cancels it (Up tears down what it started); afterwards it ends
	// the wait below.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bringUp, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	c, err := localcluster.Up(bringUp, opts)
	if err != nil {
		return err
	}
	defer c.Down()
	if demo {
		if err := runDemo(bringUp, c, opts.RepoRoot); err != nil {
			return err
		}
	}
	fmt.Printf("\nThe cluster is up. In another terminal:\n  export KUBECONFIG=%s\n  bin/k8s/kubectl get pods -A\n", c.Kubeconfig)
	fmt.Println("Press Ctrl-C to tear it down.")
	<-ctx.Done()
	fmt.Println()
	return nil
}

func runDemo(ctx context.Context, c *localcluster.Cluster, repo string) error {
	s := &stack.Stack{C: c, RepoRoot: repo, Log: os.Stderr}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"install the operator with its Helm chart", func() error { return s.InstallOperator(ctx) }},
		{"start fake APNs and FCM as a Pod, create throw-away credentials as Secrets", func() error {
			creds, err := s.StartFakes(ctx)
			if err != nil {
				return err
			}
			if err := s.CreateAppNamespace(ctx, creds); err != nil {
				return err
			}
			return s.CreateServingCertificate(ctx, "chat-tls", "chat.example.test")
		}},
		{"apply a PushService and a MobileProxy", func() error {
			if err := s.Apply(ctx, stack.PushServiceYAML("push", 2, "info")); err != nil {
				return err
			}
			return s.Apply(ctx, stack.MobileProxyYAML("chat"))
		}},
		{"kubectl wait --for=condition=Ready pushservice/push", func() error {
			return s.WaitReady(ctx, "pushservice", "push", 4*time.Minute)
		}},
		{"kubectl wait --for=condition=CertificateValid mobileproxy/chat", func() error {
			return s.WaitCondition(ctx, "mobileproxy", "chat", "CertificateValid", time.Minute)
		}},
		{"send test pushes through the relay Service (relay send-test in a Pod)", func() error {
			for _, p := range []struct{ platform, device string }{{"apple", "demo-iphone-token"}, {"android", "demo-android-token"}} {
				out, ok, err := s.SendTest(ctx, "push", "send-test-"+p.platform, p.platform, p.device)
				if err != nil {
					return err
				}
				fmt.Printf("relay send-test --platform %s: %s\n", p.platform, out)
				if !ok {
					return fmt.Errorf("send-test for %s failed", p.platform)
				}
			}
			got, _, err := stack.FakeRequests(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("the fakes received (all of it: curl %s):\n%s", stack.FakeAdminURL, got.Summary())
			return nil
		}},
	}
	for i, st := range steps {
		fmt.Fprintf(os.Stderr, "%s demo: [%d/%d] %s ...\n", time.Now().Format("15:04:05"), i+1, len(steps), st.name)
		if err := st.fn(); err != nil {
			fmt.Fprintln(os.Stderr, s.Diagnostics(context.Background()))
			return errors.Join(fmt.Errorf("demo step %q failed", st.name), err)
		}
	}
	_ = c.Kubectl(ctx, os.Stdout, "get", "pushservices,mobileproxies,deployments,pods,services,ingresses", "-n", stack.AppNamespace)
	// No Ingress controller runs here, so the MobileProxy waits for one to admit its Ingress.
	fmt.Println("\nMobileProxy chat (no Ingress controller in this cluster, so it waits for one):")
	_ = c.Kubectl(ctx, os.Stdout, "get", "mobileproxy", "-n", stack.AppNamespace, "chat",
		"-o", `jsonpath={range .status.conditions[*]}  {.type}={.status} {.reason}: {.message}{"\n"}{end}`)
	return nil
}
