// Package pushservice builds the objects a PushService consists of — the relay's
// configuration, Deployment, Service, Ingress, PodDisruptionBudget, HorizontalPodAutoscaler,
// NetworkPolicy and ServiceMonitor — as pure functions of the spec. The reconciler applies
// what these return; nothing here talks to an API server, so every rule is unit-tested.
package pushservice

import (
	"fmt"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

const (
	// DefaultRelayImage is the relay image when neither --relay-image nor spec.image says.
	DefaultRelayImage = "ghcr.io/pushops/push-relay:v0.1.0"
	// DefaultUpstreamURL is the hosted push service mode forward relays to by default.
	DefaultUpstreamURL = "https://push.mattermost.com"

	// RelayPort is the port the relay listens on (the reference's 8066).
	RelayPort = 8066
	// ConfigDir is where the relay's projected volume is mounted: relay.yaml plus every
	// credential file below it.
	ConfigDir = "/etc/push-relay"
	// ConfigFileName is the relay configuration file in ConfigDir and the ConfigMap key.
	ConfigFileName = "relay.yaml"

	// ConfigHashAnnotation on the pod template rolls the pods when the configuration
	// changes. Secret contents are not part of it: the relay reloads credentials itself.
	ConfigHashAnnotation = "push.pushops.dev/config-hash"

	containerName = "relay"
	volumeName    = "relay"
	// runAsID is the unprivileged user and group the relay runs as (distroless nonroot).
	runAsID = 65532
	// drainMargin is added to shutdownDelay + send for the pod's termination grace period.
	drainMargin = 10
)

// Labels every child object carries; SelectorLabels is the stable subset the Deployment,
// Service and policies select on.
func Labels(ps *pushv1alpha1.PushService) map[string]string {
	l := SelectorLabels(ps)
	l["app.kubernetes.io/component"] = "relay"
	l["app.kubernetes.io/managed-by"] = "push-operator"
	return l
}

// SelectorLabels identify one PushService's relay pods.
func SelectorLabels(ps *pushv1alpha1.PushService) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     "push-relay",
		"app.kubernetes.io/instance": ps.Name,
	}
}

// Names of the child objects. Most carry the PushService's own name so the in-cluster URL
// is short (http://<name>.<namespace>.svc:8066).
func DeploymentName(ps *pushv1alpha1.PushService) string { return ps.Name }
func ServiceName(ps *pushv1alpha1.PushService) string    { return ps.Name }
func ConfigMapName(ps *pushv1alpha1.PushService) string  { return ps.Name + "-config" }

// IngressTLSSecretName is the Secret the Ingress certificate lives in.
func IngressTLSSecretName(ps *pushv1alpha1.PushService) string {
	if ing := ps.Spec.Ingress; ing != nil && ing.TLS.SecretName != "" {
		return ing.TLS.SecretName
	}
	return ps.Name + "-tls"
}

// Scheme is https when the relay serves TLS itself.
func Scheme(ps *pushv1alpha1.PushService) string {
	if ps.Spec.TLS != nil {
		return "https"
	}
	return "http"
}

// InClusterURL is the Service URL the chat server uses from inside the cluster.
func InClusterURL(ps *pushv1alpha1.PushService) string {
	return fmt.Sprintf("%s://%s.%s.svc:%d", Scheme(ps), ServiceName(ps), ps.Namespace, RelayPort)
}

// IngressURL is the external URL, empty without spec.ingress.
func IngressURL(ps *pushv1alpha1.PushService) string {
	if ps.Spec.Ingress == nil {
		return ""
	}
	return "https://" + ps.Spec.Ingress.Host
}

// Endpoint is the URL to paste into the chat server: external when exposed, else internal.
func Endpoint(ps *pushv1alpha1.PushService) string {
	if u := IngressURL(ps); u != "" {
		return u
	}
	return InClusterURL(ps)
}
