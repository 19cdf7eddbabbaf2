package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PushMode selects how the relay delivers notifications.
// +kubebuilder:validation:Enum=direct;forward
type PushMode string

const (
	// PushModeDirect delivers to Apple APNs and Google FCM with the apps' own credentials.
	PushModeDirect PushMode = "direct"
	// PushModeForward relays every request unchanged to an upstream push service; apps
	// listed in spec.apps are still delivered directly.
	PushModeForward PushMode = "forward"
)

// ContentPolicy is the most message content the relay lets leave the cluster.
// +kubebuilder:validation:Enum=full;generic;id_only
type ContentPolicy string

const (
	// ContentPolicyFull passes the content the chat server sent.
	ContentPolicyFull ContentPolicy = "full"
	// ContentPolicyGeneric strips message text, channel and sender names.
	ContentPolicyGeneric ContentPolicy = "generic"
	// ContentPolicyIDOnly sends only IDs; the app fetches the content itself.
	ContentPolicyIDOnly ContentPolicy = "id_only"
)

// LogLevel is the relay's log level.
// +kubebuilder:validation:Enum=debug;info;error
type LogLevel string

const (
	LogLevelDebug LogLevel = "debug"
	LogLevelInfo  LogLevel = "info"
	LogLevelError LogLevel = "error"
)

// PushServiceSpec is the desired state of a PushService.
// +kubebuilder:validation:XValidation:rule="self.mode != 'direct' || (has(self.apps) && size(self.apps) > 0)",message="mode direct needs at least one entry in apps (or use mode forward)"
// +kubebuilder:validation:XValidation:rule="!has(self.forward) || self.mode == 'forward'",message="forward is only allowed with mode: forward"
// +kubebuilder:validation:XValidation:rule="!(has(self.replicas) && has(self.autoscaling))",message="set either replicas or autoscaling, not both: the autoscaler owns the replica count"
// +kubebuilder:validation:XValidation:rule="!has(self.callerAuth) || !has(self.callerAuth.clientCASecretRef) || has(self.tls)",message="callerAuth.clientCASecretRef needs tls: client certificates are only checked when the relay serves HTTPS"
type PushServiceSpec struct {
	// mode is `direct` (deliver to APNs/FCM with your own app credentials) or `forward`
	// (relay requests unchanged to an upstream push service, optionally through an egress
	// proxy; apps listed in `apps` are still delivered directly).
	// +kubebuilder:default=direct
	// +optional
	Mode PushMode `json:"mode,omitempty"`

	// apps lists the mobile apps the relay delivers for, one entry per platform name. Mode
	// direct needs at least one; mode forward needs none.
	// +listType=map
	// +listMapKey=platform
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Apps []PushApp `json:"apps,omitempty"`

	// forward configures mode forward: where requests go and through which egress proxy.
	// +optional
	Forward *ForwardSpec `json:"forward,omitempty"`

	// contentPolicy is the most message content the relay lets leave the cluster, whatever
	// the chat server sends: `full`, `generic` (no message text, channel or sender names)
	// or `id_only` (IDs only; the app fetches the content).
	// +kubebuilder:default=full
	// +optional
	ContentPolicy ContentPolicy `json:"contentPolicy,omitempty"`

	// callerAuth restricts who may send pushes through the relay. All configured checks
	// must pass. Empty: anyone who can reach the relay (the network policy still applies).
	// +optional
	CallerAuth *CallerAuthSpec `json:"callerAuth,omitempty"`

	// tls makes the relay itself serve HTTPS with the certificate in this Secret.
	// +optional
	TLS *RelayTLSSpec `json:"tls,omitempty"`

	// throttle limits requests per caller (server_id, else varyByHeader, else address).
	// +optional
	Throttle *ThrottleSpec `json:"throttle,omitempty"`

	// timeouts bound each delivery attempt, a whole send and the drain on shutdown.
	// +optional
	Timeouts *TimeoutsSpec `json:"timeouts,omitempty"`

	// replicas is the number of relay pods when autoscaling is not set. Default 2.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// autoscaling runs a HorizontalPodAutoscaler on CPU instead of a fixed replica count.
	// +optional
	Autoscaling *AutoscalingSpec `json:"autoscaling,omitempty"`

	// resources of the relay container. Default: requests 50m CPU / 64Mi memory, limit
	// 256Mi memory.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// image overrides the relay image the operator was started with (--relay-image).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`

	// imagePullPolicy of the relay container. Default: Kubernetes' (IfNotPresent unless
	// the tag is latest).
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// imagePullSecrets for a private registry.
	// +listType=atomic
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// nodeSelector, tolerations, affinity and topologySpreadConstraints place the relay
	// pods. Default: spread across nodes (soft) when no constraint is given.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// +listType=atomic
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// logLevel is the relay's normal log level: `debug`, `info` or `error`.
	// +kubebuilder:default=info
	// +optional
	LogLevel LogLevel `json:"logLevel,omitempty"`

	// debugUntil switches the relay to debug logging until this time; afterwards the
	// operator puts it back to logLevel by itself, so a troubleshooting session cannot
	// leave verbose logs on for good. RFC 3339, e.g. `2026-11-26T18:00:00Z`.
	// +optional
	DebugUntil *metav1.Time `json:"debugUntil,omitempty"`

	// suspend scales the relay to zero: push notifications are disabled entirely until it
	// is set back to false. The configuration and Service stay in place.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// ingress exposes the relay outside the cluster under a host name with TLS. Not needed
	// when the chat server runs in the same cluster: it can use status.endpoint directly.
	// +optional
	Ingress *IngressSpec `json:"ingress,omitempty"`

	// networkPolicy restricts who may reach the relay and where it may connect.
	// +optional
	NetworkPolicy *NetworkPolicySpec `json:"networkPolicy,omitempty"`

	// metrics configures Prometheus scraping of the relay's /metrics.
	// +optional
	Metrics *MetricsSpec `json:"metrics,omitempty"`
}

// PushServiceStatus is the observed state of a PushService.
type PushServiceStatus struct {
	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready summarises CredentialsValid, Progressing and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// endpoint is the URL to paste into the chat server's Push Notification Server
	// setting: the ingress URL when spec.ingress is set, else the in-cluster URL.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// endpoints lists every URL the relay is reachable at.
	// +optional
	Endpoints *PushServiceEndpoints `json:"endpoints,omitempty"`

	// replicas is the number of relay pods the Deployment wants; readyReplicas how many
	// of them are ready to serve.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// logLevel is the level the relay runs with now (debug while debugUntil is ahead).
	// +optional
	LogLevel LogLevel `json:"logLevel,omitempty"`

	// credentials summarises each credential the relay uses: kind, validity and expiry.
	// +listType=atomic
	// +optional
	Credentials []CredentialStatus `json:"credentials,omitempty"`
}

// PushServiceEndpoints are the URLs the relay is reachable at.
type PushServiceEndpoints struct {
	// inCluster is the Service URL, e.g. `http://push.chat.svc:8066`.
	// +optional
	InCluster string `json:"inCluster,omitempty"`
	// ingress is the external URL, e.g. `https://push.example.com`.
	// +optional
	Ingress string `json:"ingress,omitempty"`
}

// CredentialKind names the kind of a credential.
type CredentialKind string

const (
	CredentialAPNsAuthKey       CredentialKind = "APNsAuthKey"
	CredentialAPNsCertificate   CredentialKind = "APNsCertificate"
	CredentialFCMServiceAccount CredentialKind = "FCMServiceAccount"
	CredentialCABundle          CredentialKind = "CABundle"
	CredentialCallerToken       CredentialKind = "CallerToken"
	CredentialClientCA          CredentialKind = "ClientCA"
	CredentialServingCert       CredentialKind = "ServingCertificate"
)

// CredentialStatus is what the operator found in one referenced Secret.
type CredentialStatus struct {
	// name says what uses the credential: `apps[apple_rn]`, `callerAuth.token`, `tls`, ...
	Name string `json:"name"`
	// kind of credential.
	Kind CredentialKind `json:"kind"`
	// secretName is the Secret it was read from.
	SecretName string `json:"secretName"`
	// valid is true when the credential parsed.
	Valid bool `json:"valid"`
	// message is the reason it is invalid, or what identifies it (key ID, project).
	// +optional
	Message string `json:"message,omitempty"`
	// notAfter is when a certificate expires (APNs certificates expire yearly).
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// expiringSoon is true within 30 days of notAfter: renew the certificate.
	// +optional
	ExpiringSoon bool `json:"expiringSoon,omitempty"`
}

// PushService runs a self-hosted, Mattermost-compatible push notification relay.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=psvc,categories=push
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Apps",type=string,JSONPath=`.spec.apps[*].platform`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PushService struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec PushServiceSpec `json:"spec"`
	// +optional
	Status PushServiceStatus `json:"status,omitempty"`
}

// PushServiceList is a list of PushServices.
// +kubebuilder:object:root=true
type PushServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PushService `json:"items"`
}
