package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Annotations on the index entry that tell importers the image's name: containerd (ctr,
// nerdctl, Docker 25+) reads the first, other OCI tools the second.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// writeImage writes img as an OCI image layout in out/<name>/ and as the archive
// out/<name>.tar, and returns the archive's path.
func writeImage(img v1.Image, ref, out, imageName string, mtime time.Time) (string, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	dir := filepath.Join(out, imageName)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	// WriteImage and our own descriptor rather than AppendImage, whose descriptor carries
	// an artifactType that plain images should not have.
	if err := p.WriteImage(img); err != nil {
		return "", err
	}
	desc, err := imageDescriptor(img)
	if err != nil {
		return "", err
	}
	desc.Annotations = map[string]string{
		annotationContainerdName: tag.Name(),
		annotationRefName:        tag.TagStr(),
	}
	if err := p.AppendDescriptor(desc); err != nil {
		return "", err
	}
	manifest, err := dockerManifest(img, tag.Name())
	if err != nil {
		return "", err
	}
	archive := filepath.Join(out, imageName+".tar")
	return archive, archiveDir(dir, archive, map[string][]byte{"manifest.json": manifest}, mtime)
}

func imageDescriptor(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return v1.Descriptor{}, err
	}
	platform := cfg.Platform()
	return v1.Descriptor{MediaType: mt, Size: size, Digest: digest, Platform: platform}, nil
}

// dockerManifest is the manifest.json of `docker save`, pointing into the layout's blobs,
// for loaders that predate OCI archives (Docker before 25).
func dockerManifest(img v1.Image, ref string) ([]byte, error) {
	cfg, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	entry := struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{Config: blobPath(cfg), RepoTags: []string{ref}}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		entry.Layers = append(entry.Layers, blobPath(d))
	}
	return json.Marshal([]any{entry})
}

func blobPath(d v1.Hash) string { return "blobs/" + d.Algorithm + "/" + d.Hex }

// archiveDir tars dir (plus extra files at its root) into archive in path order, with
// fixed owners, modes and times (mtime) so that equal inputs give equal bytes.
func archiveDir(dir, archive string, extra map[string][]byte, mtime time.Time) error {
	files := map[string][]byte{}
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			dirs = append(dirs, rel+"/")
			return nil
		}
		files[rel], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		return err
	}
	for n, data := range extra {
		files[n] = data
	}
	names := append([]string(nil), dirs...)
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(files[n])), ModTime: mtime}
		if strings.HasSuffix(n, "/") {
			hdr.Mode, hdr.Typeflag, hdr.Size = 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(archive, buf.Bytes(), 0o644)
}
