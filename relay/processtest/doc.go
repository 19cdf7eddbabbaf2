// Package processtest holds the relay's process-level tests: they build cmd/relay, run the
// binary against fake APNs and FCM (relay/fake) with a real configuration file, and drive
// it over HTTP and with signals, as Kubernetes does.
package processtest
