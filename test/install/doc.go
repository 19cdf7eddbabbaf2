// Package install holds the tests of the ways users install the operator: the kustomize
// bases in config/, the Helm chart in charts/push-operator and the observability assets
// shipped with it. They render each path the way a user's tool would (kustomize's krusty,
// Helm's SDK) and apply the result, server-side dry-run, to a real API server.
package install
