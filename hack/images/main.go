// Command images builds the project's container images without a container engine: one
// static binary on an empty base, run as the non-root user 65532, no shell, OCI labels,
// and every timestamp fixed, so that the same binary always gives the same bytes. It
// writes an OCI image layout directory and an archive of it (with a Docker-compatible
// manifest.json) that `ctr images import`, `docker load` and `podman load` accept.
//
//	go run ./hack/images --name relay --binary bin/images/bin/relay \
//	    --ref ghcr.io/pushops/push-relay:dev --port 8066 --out bin/images
//
// `make images` runs it for the manager, relay and fakepush binaries.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	var s imageSpec
	var ports stringList
	var epoch string
	flag.StringVar(&s.Name, "name", "", "image name; the archive is <out>/<name>.tar and the layout <out>/<name>/")
	flag.StringVar(&s.Binary, "binary", "", "static binary to ship as the entrypoint /<name>")
	flag.StringVar(&s.Ref, "ref", "", "image reference recorded for importers, e.g. ghcr.io/pushops/push-relay:dev")
	flag.StringVar(&s.Version, "version", "dev", "org.opencontainers.image.version")
	flag.StringVar(&s.Revision, "revision", "", "org.opencontainers.image.revision (the git commit)")
	flag.StringVar(&s.Source, "source", "https://github.com/pushops/push-operator", "org.opencontainers.image.source")
	flag.StringVar(&s.Licenses, "licenses", "Apache-2.0", "org.opencontainers.image.licenses (SPDX)")
	flag.StringVar(&s.Description, "description", "", "org.opencontainers.image.description")
	flag.StringVar(&s.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt",
		"CA certificates to ship at /etc/ssl/certs/ca-certificates.crt (the relay verifies APNs and FCM with them); empty for none")
	flag.Var(&ports, "port", "port the image exposes, e.g. 8066 or 8066/tcp (repeatable)")
	flag.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"),
		"Unix time used for every timestamp (default $SOURCE_DATE_EPOCH, else 0)")
	flag.StringVar(&s.Platform.Architecture, "arch", runtime.GOARCH, "architecture the binary was built for")
	out := flag.String("out", "bin/images", "output directory")
	flag.Parse()

	s.Platform.OS = "linux"
	s.Ports = ports
	if err := run(&s, epoch, *out); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(s *imageSpec, epoch, out string) error {
	if s.Name == "" || s.Binary == "" || s.Ref == "" {
		return fmt.Errorf("--name, --binary and --ref are required")
	}
	created, err := parseEpoch(epoch)
	if err != nil {
		return err
	}
	s.Created = created
	img, err := buildImage(s)
	if err != nil {
		return fmt.Errorf("building image %s: %w", s.Name, err)
	}
	archive, err := writeImage(img, s.Ref, out, s.Name, s.Created)
	if err != nil {
		return fmt.Errorf("writing image %s: %w", s.Name, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s %s\n", archive, s.Ref, digest)
	return nil
}

func parseEpoch(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a Unix time: %w", s, err)
	}
	return time.Unix(secs, 0).UTC(), nil
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
