//go:build tools

// Package tools pins CoreDNS, the local cluster's DNS server (hack/cluster), built from its Go
// module into bin/k8s/coredns by the Makefile. A separate module keeps its dependencies out
// of the operator's go.mod and of hack/k8s-bins.
package tools

import (
	_ "github.com/coredns/coredns"
)
