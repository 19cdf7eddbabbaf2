package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonRoot is the user and group the images run as (distroless' "nonroot").
const (
	nonRootID   = 65532
	nonRootUser = "65532:65532"
)

// imageSpec says what goes into one image.
type imageSpec struct {
	Name        string // entrypoint /<Name>, e.g. relay
	Binary      string // path of the static binary
	Ref         string // e.g. ghcr.io/pushops/push-relay:dev
	Version     string
	Revision    string
	Source      string
	Licenses    string
	Description string
	CABundle    string // optional path of a PEM bundle
	Ports       []string
	Created     time.Time // every timestamp in the image
	Platform    v1.Platform
}

// OCI annotation keys used as labels.
const (
	labelSource      = "org.opencontainers.image.source"
	labelVersion     = "org.opencontainers.image.version"
	labelRevision    = "org.opencontainers.image.revision"
	labelLicenses    = "org.opencontainers.image.licenses"
	labelCreated     = "org.opencontainers.image.created"
	labelTitle       = "org.opencontainers.image.title"
	labelDescription = "org.opencontainers.image.description"
)

// buildImage assembles the image: an empty base, one layer, an OCI config.
func buildImage(s *imageSpec) (v1.Image, error) {
	files, err := imageFiles(s)
	if err != nil {
		return nil, err
	}
	layerTar, err := tarFiles(files, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("compressing the layer: %w", err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: s.Created},
			CreatedBy: "hack/images: /" + s.Name + " on an empty base",
		},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, err
	}

	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: s.Created}
	cfg.OS, cfg.Architecture, cfg.Variant = s.Platform.OS, s.Platform.Architecture, s.Platform.Variant
	cfg.Config.User = nonRootUser
	cfg.Config.Entrypoint = []string{"/" + s.Name}
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = labels(s)
	if len(s.Ports) > 0 {
		cfg.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range s.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, labels(s)).(v1.Image), nil
}

func labels(s *imageSpec) map[string]string {
	l := map[string]string{
		labelSource:   s.Source,
		labelVersion:  s.Version,
		labelLicenses: s.Licenses,
		labelCreated:  s.Created.Format(time.RFC3339),
		labelTitle:    s.Name,
	}
	if s.Revision != "" {
		l[labelRevision] = s.Revision
	}
	if s.Description != "" {
		l[labelDescription] = s.Description
	}
	return l
}

// file is one entry of the image's only layer.
type file struct {
	Path string // without the leading slash
	Mode int64  // permission bits (and sticky bit)
	Dir  bool
	UID  int
	Data []byte
}

// imageFiles is the whole filesystem: the binary, user and group databases so that the
// non-root user has a name, CA certificates, and a sticky /tmp. Nothing else — no shell.
func imageFiles(s *imageSpec) ([]file, error) {
	binary, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, fmt.Errorf("reading the binary: %w", err)
	}
	files := []file{
		{Path: s.Name, Mode: 0o755, Data: binary},
		{Path: "etc", Mode: 0o755, Dir: true},
		{Path: "etc/passwd", Mode: 0o644, Data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				fmt.Sprintf("nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonRootID, nonRootID))},
		{Path: "etc/group", Mode: 0o644, Data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonRootID))},
		{Path: "home", Mode: 0o755, Dir: true},
		{Path: "home/nonroot", Mode: 0o700, Dir: true, UID: nonRootID},
		{Path: "tmp", Mode: 0o1777, Dir: true},
	}
	if s.CABundle != "" {
		bundle, err := os.ReadFile(s.CABundle)
		if err != nil {
			return nil, fmt.Errorf("reading the CA bundle: %w", err)
		}
		files = append(files,
			file{Path: "etc/ssl", Mode: 0o755, Dir: true},
			file{Path: "etc/ssl/certs", Mode: 0o755, Dir: true},
			file{Path: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: bundle})
	}
	return files, nil
}

// tarFiles writes files as a tar stream in path order with every time set to mtime, so
// the same files always give the same bytes.
func tarFiles(files []file, mtime time.Time) ([]byte, error) {
	sorted := append([]file(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range sorted {
		hdr := &tar.Header{
			Name:    path.Clean(f.Path),
			Mode:    f.Mode,
			Uid:     f.UID,
			Gid:     f.UID,
			ModTime: mtime,
		}
		if f.Dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
