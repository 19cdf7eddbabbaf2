// Command pause is the local cluster's pod sandbox (registry.k8s.io/pause:3.10, built here
// because no registry is reachable): it holds the pod's namespaces and waits for a signal.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
