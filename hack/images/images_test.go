package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The images `make images` builds, with the flags it passes.
var images = []struct {
	name, ref string
	ports     []string
}{
	{"manager", "ghcr.io/pushops/push-operator:test", []string{"8443", "8081"}},
	{"relay", "ghcr.io/pushops/push-relay:test", []string{"8066"}},
	{"fakepush", "ghcr.io/pushops/push-fakepush:test", []string{"8443", "8444", "8445"}},
}

var created = time.Unix(1_700_000_000, 0).UTC()

func TestImages(t *testing.T) {
	for _, image := range images {
		t.Run(image.name, func(t *testing.T) {
			t.Parallel()
			binary := buildBinary(t, image.name)
			spec := &imageSpec{
				Name: image.name, Binary: binary, Ref: image.ref, Ports: image.ports,
				Version: "v0.0.0-test", Revision: "0123456789abcdef", Source: "https://github.com/pushops/push-operator",
				Licenses: "Apache-2.0", CABundle: caBundle(t), Created: created,
				Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
			}
			archive := runBuilder(t, spec)
			img := checkArchive(t, archive, image.ref)
			checkConfig(t, img, spec)
			files := checkFilesystem(t, img, spec)
			checkEntrypointStarts(t, files["/"+image.name])
		})
	}
}

// The builder is deterministic whatever the binary: two builds from the same input give
// the same archive, byte for byte. (A stand-in binary keeps this cheap under -race.)
func TestImagesAreReproducible(t *testing.T) {
	binary := filepath.Join(t.TempDir(), "relay")
	content := bytes.Repeat([]byte("\x7fELF not really a binary, but bytes to pack\n"), 20_000)
	if err := os.WriteFile(binary, content, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := &imageSpec{
		Name: "relay", Binary: binary, Ref: "ghcr.io/pushops/push-relay:test", Ports: []string{"8066"},
		Version: "v0.0.0-test", Source: "https://github.com/pushops/push-operator", Licenses: "Apache-2.0",
		CABundle: caBundle(t), Created: created, Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
	}
	first, second := writeTestImage(t, spec), writeTestImage(t, spec)
	if !bytes.Equal(readFile(t, first), readFile(t, second)) {
		t.Fatal("two builds from the same binary differ")
	}
	// And the input matters: another creation time gives another image.
	spec.Created = created.Add(time.Second)
	if bytes.Equal(readFile(t, first), readFile(t, writeTestImage(t, spec))) {
		t.Error("the creation time does not reach the image")
	}
}

// checkArchive unpacks the archive as an importer would and returns its image: a valid
// OCI image layout (every digest and size checked) naming the image, plus the Docker
// manifest.json pointing at the same blobs.
func checkArchive(t *testing.T, archive, ref string) v1.Image {
	t.Helper()
	dir := t.TempDir()
	untar(t, archive, dir)
	if got := string(readFile(t, filepath.Join(dir, "oci-layout"))); !strings.Contains(got, `"imageLayoutVersion":"1.0.0"`) &&
		!strings.Contains(got, `"imageLayoutVersion": "1.0.0"`) {
		t.Errorf("oci-layout is %q", got)
	}
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("the archive is no OCI image layout: %v", err)
	}
	// Fast skips re-hashing the layers' uncompressed contents (slow under -race); every
	// blob's digest is checked below and the layer is read in full by checkFilesystem.
	if err := validate.Index(index, validate.Fast); err != nil {
		t.Fatalf("the OCI image layout is invalid: %v", err)
	}
	checkBlobDigests(t, dir)
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != 1 {
		t.Fatalf("index.json lists %d images, want 1", len(manifest.Manifests))
	}
	desc := manifest.Manifests[0]
	if got := desc.Annotations[annotationContainerdName]; got != ref {
		t.Errorf("index.json names the image %q, want %q", got, ref)
	}
	img, err := index.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}

	var dockerManifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "manifest.json")), &dockerManifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(dockerManifest) != 1 || !slices.Equal(dockerManifest[0].RepoTags, []string{ref}) {
		t.Fatalf("manifest.json = %+v, want one image tagged %s", dockerManifest, ref)
	}
	for _, blob := range append([]string{dockerManifest[0].Config}, dockerManifest[0].Layers...) {
		if _, err := os.Stat(filepath.Join(dir, blob)); err != nil {
			t.Errorf("manifest.json points at a missing blob: %v", err)
		}
	}
	return img
}

// checkBlobDigests checks that every blob's content hashes to its name.
func checkBlobDigests(t *testing.T, layoutDir string) {
	t.Helper()
	blobs, err := filepath.Glob(filepath.Join(layoutDir, "blobs", "sha256", "*"))
	if err != nil || len(blobs) < 3 {
		t.Fatalf("want at least a manifest, a config and a layer blob; got %v (%v)", blobs, err)
	}
	for _, blob := range blobs {
		if got := fmt.Sprintf("%x", sha256.Sum256(readFile(t, blob))); got != filepath.Base(blob) {
			t.Errorf("blob %s has digest sha256:%s", filepath.Base(blob), got)
		}
	}
}

func checkConfig(t *testing.T, img v1.Image, spec *imageSpec) {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("runs as user %q, want the non-root 65532:65532", cfg.Config.User)
	}
	if want := []string{"/" + spec.Name}; !slices.Equal(cfg.Config.Entrypoint, want) {
		t.Errorf("entrypoint %v, want %v", cfg.Config.Entrypoint, want)
	}
	if len(cfg.Config.Cmd) != 0 || len(cfg.Config.Shell) != 0 {
		t.Errorf("cmd %v / shell %v set; the image has no shell", cfg.Config.Cmd, cfg.Config.Shell)
	}
	for key, want := range map[string]string{
		labelSource: spec.Source, labelVersion: spec.Version, labelLicenses: spec.Licenses,
		labelRevision: spec.Revision, labelCreated: "2023-11-14T22:13:20Z",
	} {
		if got := cfg.Config.Labels[key]; got != want {
			t.Errorf("label %s = %q, want %q", key, got, want)
		}
	}
	if !cfg.Created.Time.Equal(created) || len(cfg.History) != 1 || !cfg.History[0].Created.Time.Equal(created) {
		t.Errorf("timestamps not fixed: created %v, history %+v", cfg.Created, cfg.History)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	for _, p := range spec.Ports {
		if _, ok := cfg.Config.ExposedPorts[p+"/tcp"]; !ok {
			t.Errorf("port %s/tcp not exposed: %v", p, cfg.Config.ExposedPorts)
		}
	}
}

// checkFilesystem reads the image's flattened filesystem: exactly the files the builder
// means to ship (no shell, nothing else), owned and timed as intended. It returns the
// regular files' contents by path.
func checkFilesystem(t *testing.T, img v1.Image, spec *imageSpec) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string][]byte{}
	var paths []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the layer: %v", err)
		}
		path := "/" + strings.TrimSuffix(hdr.Name, "/")
		paths = append(paths, path)
		if base := filepath.Base(path); slices.Contains([]string{"sh", "bash", "ash", "dash", "zsh", "busybox"}, base) {
			t.Errorf("the image ships a shell: %s", path)
		}
		if !hdr.ModTime.Equal(created) {
			t.Errorf("%s has mtime %v, want %v", path, hdr.ModTime, created)
		}
		if hdr.Typeflag == tar.TypeReg {
			if files[path], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
			if hdr.Uid != 0 || hdr.Mode&0o022 != 0 {
				t.Errorf("%s is owned by %d with mode %o; the non-root user must not be able to change it", path, hdr.Uid, hdr.Mode)
			}
		}
	}
	want := []string{"/" + spec.Name, "/etc", "/etc/group", "/etc/passwd", "/etc/ssl", "/etc/ssl/certs",
		"/etc/ssl/certs/ca-certificates.crt", "/home", "/home/nonroot", "/tmp"}
	slices.Sort(want)
	slices.Sort(paths)
	if !slices.Equal(paths, want) {
		t.Errorf("the image holds %v, want exactly %v", paths, want)
	}
	if !bytes.Contains(files["/etc/passwd"], []byte("nonroot:x:65532:65532:")) {
		t.Errorf("/etc/passwd lacks the nonroot user:\n%s", files["/etc/passwd"])
	}
	return files
}

// checkEntrypointStarts runs the entrypoint binary taken out of the layer with --help.
func checkEntrypointStarts(t *testing.T, binary []byte) {
	t.Helper()
	if len(binary) == 0 {
		t.Fatal("the entrypoint binary is missing from the layer")
	}
	path := filepath.Join(t.TempDir(), "entrypoint")
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("entrypoint --help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Usage") {
		t.Errorf("entrypoint --help printed no usage:\n%s", out)
	}
}

// runBuilder runs the image builder as `make images` does, as its own (uninstrumented)
// process so that compressing the layer stays quick under -race.
func runBuilder(t *testing.T, spec *imageSpec) string {
	t.Helper()
	out := t.TempDir()
	args := []string{"--name", spec.Name, "--binary", spec.Binary, "--ref", spec.Ref, "--out", out,
		"--version", spec.Version, "--revision", spec.Revision, "--source", spec.Source, "--licenses", spec.Licenses,
		"--ca-bundle", spec.CABundle, "--arch", spec.Platform.Architecture,
		"--source-date-epoch", fmt.Sprint(spec.Created.Unix())}
	for _, p := range spec.Ports {
		args = append(args, "--port", p)
	}
	cmd := exec.Command(buildPackage(t, "images", "./hack/images"), args...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=")
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("images %v: %v\n%s", args, err, output)
	}
	archive := filepath.Join(out, spec.Name+".tar")
	if !strings.HasPrefix(string(output), archive+" "+spec.Ref+" sha256:") {
		t.Errorf("the builder printed %q, want the archive, reference and digest", output)
	}
	return archive
}

func writeTestImage(t *testing.T, spec *imageSpec) string {
	t.Helper()
	img, err := buildImage(spec)
	if err != nil {
		t.Fatalf("building the image: %v", err)
	}
	archive, err := writeImage(img, spec.Ref, t.TempDir(), spec.Name, spec.Created)
	if err != nil {
		t.Fatalf("writing the image: %v", err)
	}
	return archive
}

var (
	binariesOnce sync.Once
	binariesDir  string
	binariesErr  error
)

// buildBinary builds cmd/<name> as `make images` does. A command that does not exist (yet)
// skips its image's test, saying so; one that does not build fails.
func buildBinary(t *testing.T, name string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot(t), "cmd", name)); errors.Is(err, os.ErrNotExist) {
		t.Skipf("cmd/%s does not exist: no %s image to build", name, name)
	}
	return buildPackage(t, name, "./cmd/"+name)
}

var builds sync.Map // output path → *sync.Once, so each package is built once per run

// buildPackage builds pkg statically into the run's binaries directory, once.
func buildPackage(t *testing.T, name, pkg string) string {
	t.Helper()
	binariesOnce.Do(func() { binariesDir, binariesErr = os.MkdirTemp("", "images-test-") })
	if binariesErr != nil {
		t.Fatal(binariesErr)
	}
	out := filepath.Join(binariesDir, name)
	once, _ := builds.LoadOrStore(out, new(sync.Once))
	var output []byte
	var err error
	once.(*sync.Once).Do(func() {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		output, err = cmd.CombinedOutput()
	})
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, output)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("go build %s failed earlier in this run", pkg)
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binariesDir != "" {
		if err := os.RemoveAll(binariesDir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// caBundle is a small stand-in for the host's CA certificates.
func caBundle(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca-certificates.crt")
	if err := os.WriteFile(path, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(readFile(t, archive)))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("reading %s: %v", archive, err)
		}
		target := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(target, dir+string(filepath.Separator)) {
			t.Fatalf("archive entry %q escapes the directory", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, data, 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("unexpected entry type %c for %s in the archive", hdr.Typeflag, hdr.Name)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
