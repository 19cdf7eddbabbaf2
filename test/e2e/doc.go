// Package e2e runs push-operator end to end on a real single-node cluster on this machine
// (hack/cluster/localcluster): the operator installed with its Helm chart runs as a Pod,
// relays run as Pods from the project's images, fake APNs and FCM run as a Pod.
//
// The tests carry the build tag e2e so that `go test ./...` (make test) does not run them;
// `make e2e` does (root and Linux; they skip with the reason otherwise).
package e2e
