// Package testenv starts a real Kubernetes API server (kube-apiserver and etcd built from Go
// modules into bin/k8s by `make k8s-bins`) for the test suites of this module.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot is the root of this repository, found from this source file's location so that
// every package's tests agree on it whatever their working directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinaryDir is where kube-apiserver and etcd live: $KUBEBUILDER_ASSETS, else bin/k8s.
func BinaryDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(), "bin", "k8s")
}

// New returns an environment that installs this repository's CRDs plus any extra CRD
// directories or files (paths relative to the repository root).
func New(extraCRDPaths ...string) *envtest.Environment {
	paths := []string{filepath.Join(RepoRoot(), "config", "crd", "bases")}
	for _, p := range extraCRDPaths {
		paths = append(paths, filepath.Join(RepoRoot(), p))
	}
	return &envtest.Environment{
		CRDDirectoryPaths:     paths,
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: BinaryDir(),
	}
}

// Start starts env after checking that the API server binaries exist, so a missing build
// fails with the command that fixes it rather than envtest's download hint.
func Start(env *envtest.Environment) (*rest.Config, error) {
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(env.BinaryAssetsDirectory, bin)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run `make k8s-bins` first: %w", bin, env.BinaryAssetsDirectory, err)
		}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the test API server: %w", err)
	}
	return cfg, nil
}
