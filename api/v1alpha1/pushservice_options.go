package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ForwardSpec is mode forward: relay requests unchanged to an upstream push service,
// typically the hosted one, through the company's egress proxy.
type ForwardSpec struct {
	// upstreamURL is the upstream push service.
	// +kubebuilder:default="https://push.mattermost.com"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https://[^\s/?#]+(/[^\s]*)?$`
	// +optional
	UpstreamURL string `json:"upstreamURL,omitempty"`

	// egressProxy is the HTTP(S) proxy outbound connections go through, e.g.
	// `http://proxy.corp:3128` (set as HTTPS_PROXY/HTTP_PROXY in the relay).
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s/?#@]+/?$`
	// +optional
	EgressProxy string `json:"egressProxy,omitempty"`

	// noProxy lists hosts, domains or CIDRs reached without the proxy (NO_PROXY).
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[^\s,]+$`
	// +listType=atomic
	// +optional
	NoProxy []string `json:"noProxy,omitempty"`

	// caBundleSecretRef names extra CA certificates (PEM) to trust for the upstream.
	// +optional
	CABundleSecretRef *SecretKeyRef `json:"caBundleSecretRef,omitempty"`
}

// CallerAuthSpec restricts who may send pushes. All configured checks must pass.
type CallerAuthSpec struct {
	// allowedServerIDs, when not empty, lists the chat servers (their telemetry
	// `server_id`) whose pushes are accepted.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=set
	// +optional
	AllowedServerIDs []string `json:"allowedServerIDs,omitempty"`

	// tokenSecretRef names a shared bearer token callers must send
	// (`Authorization: Bearer <token>`).
	// +optional
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`

	// clientCASecretRef names CA certificates (PEM); callers must then present a client
	// certificate signed by one of them. Needs spec.tls.
	// +optional
	ClientCASecretRef *SecretKeyRef `json:"clientCASecretRef,omitempty"`
}

// RelayTLSSpec is the relay's own serving certificate.
type RelayTLSSpec struct {
	// secretName is a kubernetes.io/tls Secret (tls.crt, tls.key) in the same namespace,
	// e.g. one issued by cert-manager for `<name>.<namespace>.svc`.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	SecretName string `json:"secretName"`

	// minVersion is the lowest TLS version accepted: `1.2` or `1.3`.
	// +kubebuilder:validation:Enum="1.2";"1.3"
	// +kubebuilder:default="1.2"
	// +optional
	MinVersion string `json:"minVersion,omitempty"`
}

// ThrottleSpec limits requests per caller.
type ThrottleSpec struct {
	// perSecond is the sustained rate allowed per caller. Default 300.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	// +optional
	PerSecond *int32 `json:"perSecond,omitempty"`

	// burst is how many requests a caller may send at once. Default: perSecond.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	// +optional
	Burst *int32 `json:"burst,omitempty"`

	// varyByHeader keys callers on this request header when a request has no
	// server_id, e.g. `X-Forwarded-For` behind an ingress.
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	// +optional
	VaryByHeader string `json:"varyByHeader,omitempty"`
}

// TimeoutsSpec bounds deliveries and the drain on shutdown. Durations are Go duration
// strings such as `8s` or `1m30s`.
// +kubebuilder:validation:XValidation:rule="!has(self.perTry) || !has(self.send) || duration(self.perTry) <= duration(self.send)",message="timeouts.perTry must not be longer than timeouts.send (one try cannot outlast the whole send)"
type TimeoutsSpec struct {
	// perTry bounds one delivery attempt to APNs/FCM/upstream. Default 8s.
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	PerTry string `json:"perTry,omitempty"`

	// send bounds a whole send including retries. Default 30s (the chat server gives up
	// after 30s).
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Send string `json:"send,omitempty"`

	// shutdownDelay is how long a stopping relay keeps serving while it is taken out of
	// the Service's endpoints. Default 5s.
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	ShutdownDelay string `json:"shutdownDelay,omitempty"`
}

// AutoscalingSpec runs a HorizontalPodAutoscaler on the relay.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="autoscaling.minReplicas must not exceed autoscaling.maxReplicas"
type AutoscalingSpec struct {
	// minReplicas is the fewest relay pods. Default 2.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas is the most relay pods.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +required
	MaxReplicas int32 `json:"maxReplicas"`

	// targetCPUUtilizationPercentage is the average CPU use (of requests) to scale at.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=70
	// +optional
	TargetCPUUtilizationPercentage int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// IngressSpec exposes the relay under a host name with TLS.
type IngressSpec struct {
	// host is the DNS name, e.g. `push.example.com`.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Host string `json:"host"`

	// className is the IngressClass. Default: the cluster's default class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClassName *string `json:"className,omitempty"`

	// tls is the certificate for host: an existing Secret or a cert-manager issuer.
	// +required
	TLS IngressTLS `json:"tls"`

	// annotations are added to the Ingress, e.g. for the ingress controller.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// IngressTLS is where the Ingress certificate comes from.
// +kubebuilder:validation:XValidation:rule="has(self.secretName) != has(self.issuerRef)",message="ingress.tls needs exactly one of secretName (an existing certificate) or issuerRef (cert-manager issues one)"
type IngressTLS struct {
	// secretName is an existing kubernetes.io/tls Secret for host.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// issuerRef asks cert-manager to issue the certificate (into Secret `<name>-tls`).
	// +optional
	IssuerRef *IngressIssuerRef `json:"issuerRef,omitempty"`
}

// IngressIssuerRef names the cert-manager Issuer or ClusterIssuer for the relay's Ingress.
type IngressIssuerRef struct {
	// name of the issuer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// kind is `Issuer` (same namespace) or `ClusterIssuer`.
	// +kubebuilder:validation:Enum=Issuer;ClusterIssuer
	// +kubebuilder:default=Issuer
	// +optional
	Kind string `json:"kind,omitempty"`
}

// NetworkPolicySpec restricts the relay's traffic: ingress only from the chat server,
// egress only to DNS, HTTPS (APNs, FCM, upstream) and the egress proxy.
type NetworkPolicySpec struct {
	// enabled creates the NetworkPolicy. Default true.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// allowedNamespaces may call the relay (add the ingress controller's namespace when
	// using spec.ingress, and Prometheus' for scraping). Default: the PushService's own
	// namespace only.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +listType=set
	// +optional
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`

	// namespaceSelector additionally allows namespaces with these labels.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// podSelector narrows the callers to pods with these labels (e.g. the chat server's)
	// within the allowed namespaces. Default: every pod there.
	// +optional
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`
}

// MetricsSpec configures Prometheus scraping.
type MetricsSpec struct {
	// serviceMonitor creates a Prometheus Operator ServiceMonitor for the relay; it is
	// created only when the ServiceMonitor CRD is installed.
	// +optional
	ServiceMonitor *ServiceMonitorSpec `json:"serviceMonitor,omitempty"`
}

// ServiceMonitorSpec is the Prometheus Operator ServiceMonitor for the relay.
type ServiceMonitorSpec struct {
	// enabled creates the ServiceMonitor.
	// +required
	Enabled bool `json:"enabled"`
	// interval between scrapes, e.g. `30s`. Default: Prometheus'.
	// +kubebuilder:validation:Pattern=`^([0-9]+(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Interval string `json:"interval,omitempty"`
	// labels are added to the ServiceMonitor so that a Prometheus selects it, e.g.
	// `release: prometheus`.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}
