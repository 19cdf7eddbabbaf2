// Command coredns is CoreDNS v1.15 with only the plugins the local cluster's Corefile uses
// (hack/cluster/localcluster): bind, errors, health, ready, kubernetes and cache. The full
// build links every cloud provider's SDK and takes minutes longer to compile; the Makefile
// builds this into bin/k8s/coredns. A separate module keeps CoreDNS' dependencies out of the
// operator's go.mod and of hack/k8s-bins.
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
