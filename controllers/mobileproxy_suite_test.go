package controllers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Test support the MobileProxy tests share: a count of the writes the manager's client
// makes, per namespace, and installation of the optional CRDs from the Go module cache.

// writes counts create/update/patch/delete calls the manager makes, per namespace.
var writes = &writeCounter{byNamespace: map[string]int{}}

type writeCounter struct {
	mu          sync.Mutex
	byNamespace map[string]int
}

func (w *writeCounter) add(obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byNamespace[obj.GetNamespace()]++
}

func (w *writeCounter) in(namespace string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byNamespace[namespace]
}

// newWriteCountingClient is the manager's NewClient: the default client, counted.
func newWriteCountingClient(cfg *rest.Config, opts client.Options) (client.Client, error) {
	c, err := client.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	return &countingClient{Client: c}, nil
}

type countingClient struct{ client.Client }

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	writes.add(obj)
	return c.Client.Create(ctx, obj, opts...)
}
func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	writes.add(obj)
	return c.Client.Update(ctx, obj, opts...)
}
func (c *countingClient) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
	writes.add(obj)
	return c.Client.Patch(ctx, obj, p, opts...)
}
func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	writes.add(obj)
	return c.Client.Delete(ctx, obj, opts...)
}
func (c *countingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	writes.add(&unknownObject{})
	return c.Client.Apply(ctx, obj, opts...)
}
func (c *countingClient) Status() client.SubResourceWriter {
	return &countingWriter{SubResourceWriter: c.Client.Status()}
}
func (c *countingClient) SubResource(name string) client.SubResourceClient {
	return &countingSubResource{SubResourceClient: c.Client.SubResource(name)}
}

type countingWriter struct{ client.SubResourceWriter }

func (w *countingWriter) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	writes.add(obj)
	return w.SubResourceWriter.Create(ctx, obj, sub, opts...)
}
func (w *countingWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	writes.add(obj)
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}
func (w *countingWriter) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	writes.add(obj)
	return w.SubResourceWriter.Patch(ctx, obj, p, opts...)
}

type countingSubResource struct{ client.SubResourceClient }

func (s *countingSubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	writes.add(obj)
	return s.SubResourceClient.Update(ctx, obj, opts...)
}
func (s *countingSubResource) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	writes.add(obj)
	return s.SubResourceClient.Patch(ctx, obj, p, opts...)
}

// unknownObject stands for an apply configuration, whose namespace is not at hand.
type unknownObject struct{ client.Object }

func (unknownObject) GetNamespace() string { return "" }

// moduleDir is where go keeps a module of this build, e.g. sigs.k8s.io/gateway-api.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	out, err := goList(module)
	if err != nil {
		t.Fatalf("locating module %s: %v", module, err)
	}
	return out
}

// installCRDs installs CRD files (relative to a module's directory) into the test API
// server and waits until they are served.
func installCRDs(t *testing.T, module string, files ...string) {
	t.Helper()
	dir := moduleDir(t, module)
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CRD file of %s: %v", module, err)
		}
		paths = append(paths, p)
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("installing CRDs of %s: %v", module, err)
	}
}

// gatewayAPICRDs and certManagerCRDs are the published CRD files the tests install.
var (
	gatewayAPICRDs = []string{
		"config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml",
		"config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
		"config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
		"config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml",
	}
	certManagerCRDs = []string{
		"deploy/crds/cert-manager.io_certificates.yaml",
		"deploy/crds/cert-manager.io_issuers.yaml",
		"deploy/crds/cert-manager.io_clusterissuers.yaml",
	}
)

func goList(module string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m %s: module not downloaded (run go mod download)", module)
	}
	return dir, nil
}
