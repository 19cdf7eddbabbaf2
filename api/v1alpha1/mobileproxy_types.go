package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MobileProxySpec is the desired state of a MobileProxy: which chat server to expose, under
// which public name, with which certificate, through which Gateway or Ingress controller.
// +kubebuilder:validation:XValidation:rule="has(self.backend) != has(self.externalURL)",message="set exactly one upstream: backend (a chat server Service in this namespace) or externalURL (a chat server outside the cluster)"
// +kubebuilder:validation:XValidation:rule="!has(self.tls.issuerRef) || self.tls.issuerRef.challenge != 'HTTP01' || !has(self.hosts) || self.hosts.all(h, !h.startsWith('*.'))",message="wildcard hosts need a DNS-01 issuer: ACME cannot validate a wildcard name over HTTP-01 (set tls.issuerRef.challenge: DNS01 or drop the wildcard)"
// +kubebuilder:validation:XValidation:rule="!has(self.hosts) || !(self.host in self.hosts)",message="hosts lists extra names only: do not repeat host in it"
// +kubebuilder:validation:XValidation:rule="self.exposure.type != 'gateway' || has(self.exposure.gateway)",message="exposure.type gateway needs exposure.gateway.parentRef (the Gateway the route attaches to)"
// +kubebuilder:validation:XValidation:rule="self.exposure.type != 'ingress' || !has(self.exposure.gateway)",message="exposure.gateway is only used with exposure.type gateway"
// +kubebuilder:validation:XValidation:rule="self.exposure.type != 'gateway' || !has(self.exposure.ingress)",message="exposure.ingress is only used with exposure.type ingress"
// +kubebuilder:validation:XValidation:rule="!has(self.externalTLS) || (has(self.externalURL) && isURL(self.externalURL) && url(self.externalURL).getScheme() == 'https')",message="externalTLS says how the Gateway verifies a chat server reached over TLS: set it only with an https:// externalURL"
// +kubebuilder:validation:XValidation:rule="!has(self.externalTLS) || self.exposure.type == 'gateway'",message="externalTLS is applied through a Gateway API BackendTLSPolicy and needs exposure.type gateway; an Ingress controller verifies the upstream in its own configuration"
// +kubebuilder:validation:XValidation:rule="!has(self.allowedSourceRanges) || size(self.allowedSourceRanges) == 0 || (self.exposure.type == 'ingress' && has(self.exposure.ingress) && self.exposure.ingress.profile == 'haproxy')",message="allowedSourceRanges can be enforced only through the haproxy Ingress profile; with a Gateway or another Ingress controller, restrict client networks in that controller's own policy (see docs/mobileproxy.md) and leave allowedSourceRanges empty"
type MobileProxySpec struct {
	// host is the public DNS name the mobile apps connect to, e.g. `chat.example.com`: what
	// users type into the app as the server URL (without `https://`). No wildcard, no port.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="host must be a lowercase DNS name such as chat.example.com: no scheme, port, path or wildcard"
	// +required
	Host string `json:"host"`

	// hosts are extra public names served with the same certificate and routes (for example
	// a legacy name). A leading `*.` wildcard is allowed here only with a DNS-01 issuer or an
	// existing certificate.
	// +kubebuilder:validation:MaxItems=8
	// +listType=set
	// +optional
	Hosts []ExtraHost `json:"hosts,omitempty"`

	// backend is the chat server's Service in this namespace.
	// +optional
	Backend *MobileProxyBackend `json:"backend,omitempty"`

	// externalURL is a chat server outside the cluster, e.g. `https://chat.internal:8065`.
	// The operator renders an ExternalName Service for it and speaks the URL's scheme to it.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != '' && url(self).getEscapedPath() in ['', '/'] && url(self).getQuery().size() == 0",message="externalURL must be an http:// or https:// URL with a host and optional port, and no path or query, e.g. https://chat.internal.example.com:8065"
	// +optional
	ExternalURL string `json:"externalURL,omitempty"`

	// externalTLS says how the Gateway verifies the certificate of an https:// externalURL.
	// With exposure.type gateway and an https:// externalURL the operator creates a Gateway
	// API BackendTLSPolicy `<name>-upstream` so that the Gateway speaks TLS to the chat
	// server and checks its certificate for the URL's host name; unset, against the Gateway
	// implementation's system roots.
	// +optional
	ExternalTLS *ExternalTLS `json:"externalTLS,omitempty"`

	// tls chooses the certificate phones will see.
	// +required
	TLS MobileProxyTLS `json:"tls"`

	// exposure selects Gateway API (default) or Ingress.
	// +kubebuilder:default={type: gateway}
	// +optional
	Exposure MobileProxyExposure `json:"exposure,omitempty"`

	// allowedSourceRanges restricts which client networks may connect (CIDRs). Empty means
	// everyone, which is what phones on mobile networks need. Only the haproxy Ingress
	// profile can enforce it; the API rejects it elsewhere rather than ignore it silently.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	AllowedSourceRanges []CIDR `json:"allowedSourceRanges,omitempty"`

	// hsts sets the Strict-Transport-Security response header.
	// +kubebuilder:default={enabled: true}
	// +optional
	HSTS HSTS `json:"hsts,omitempty"`

	// maxBodySize is the largest request body accepted (file uploads). Default 50Mi, as the
	// chat server's reference proxy configuration.
	// +kubebuilder:default="50Mi"
	// +kubebuilder:validation:XValidation:rule="quantity(self).isGreaterThan(quantity('0')) && quantity(self).compareTo(quantity('10Gi')) <= 0",message="maxBodySize must be between 1 byte and 10Gi"
	// +kubebuilder:validation:MaxLength=16
	// +optional
	MaxBodySize string `json:"maxBodySize,omitempty"`

	// timeouts for the upstream connection.
	// +kubebuilder:default={}
	// +optional
	Timeouts Timeouts `json:"timeouts,omitempty"`

	// pushService, when set, also routes the named PushService's relay under this host at
	// /api/v1/ (send_push, ack), for a chat server outside the cluster that must reach the
	// relay over TLS.
	// +optional
	PushService *LocalRef `json:"pushService,omitempty"`
}

// ExtraHost is a DNS name, optionally with a leading `*.` wildcard.
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self.matches('^(\\\\*\\\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$')",message="each of hosts must be a lowercase DNS name with at least one dot, optionally starting with *."
type ExtraHost string

// CIDR is an IPv4 or IPv6 network in CIDR notation, e.g. `203.0.113.0/24`.
// +kubebuilder:validation:MaxLength=43
// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self) == cidr(self).masked()",message="must be a network in CIDR notation with no host bits set, e.g. 203.0.113.0/24 or 2001:db8::/32"
type CIDR string

// MobileProxyBackend is the chat server's Service.
type MobileProxyBackend struct {
	// serviceName is the chat server's Service in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +required
	ServiceName string `json:"serviceName"`

	// port is the Service port the chat server listens on.
	// +kubebuilder:default=8065
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
}

// MobileProxyTLS chooses where the certificate comes from: exactly one source.
// +kubebuilder:validation:XValidation:rule="has(self.secretName) != has(self.issuerRef)",message="set exactly one TLS source: secretName (an existing kubernetes.io/tls Secret) or issuerRef (a cert-manager Issuer or ClusterIssuer)"
type MobileProxyTLS struct {
	// secretName is an existing `kubernetes.io/tls` Secret in this namespace holding the
	// full chain (leaf then intermediates) in tls.crt and the key in tls.key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// issuerRef asks cert-manager for the certificate; it is stored in the Secret
	// `<name>-tls`.
	// +optional
	IssuerRef *IssuerRef `json:"issuerRef,omitempty"`

	// minVersion is the lowest TLS version the proxy must offer: "1.2" (default) or "1.3".
	// Neither Gateway API nor Ingress has a portable field for it: set it where the Gateway
	// or Ingress controller takes it (docs/mobileproxy.md lists where, per implementation).
	// +kubebuilder:validation:Enum="1.2";"1.3"
	// +kubebuilder:default="1.2"
	// +optional
	MinVersion string `json:"minVersion,omitempty"`

	// trustedCABundle adds CAs (PEM, in a ConfigMap key) to the system roots when the
	// operator judges the certificate: for an organisation whose phones have its private
	// root installed by device management.
	// +optional
	TrustedCABundle *ConfigMapKeyRef `json:"trustedCABundle,omitempty"`
}

// IssuerRef names a cert-manager issuer.
type IssuerRef struct {
	// name of the Issuer or ClusterIssuer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// kind is Issuer (this namespace) or ClusterIssuer.
	// +kubebuilder:validation:Enum=Issuer;ClusterIssuer
	// +kubebuilder:default=ClusterIssuer
	// +optional
	Kind string `json:"kind,omitempty"`

	// challenge is how the issuer proves control of the names: HTTP01 (default; cannot
	// issue wildcards) or DNS01. Used only to validate the hosts.
	// +kubebuilder:validation:Enum=HTTP01;DNS01
	// +kubebuilder:default=HTTP01
	// +optional
	Challenge string `json:"challenge,omitempty"`
}

// ConfigMapKeyRef selects one key of a ConfigMap in this namespace.
type ConfigMapKeyRef struct {
	// name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// key holding PEM certificates.
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// ExternalTLS is how the Gateway verifies the chat server's certificate when it speaks TLS
// to an https:// externalURL.
type ExternalTLS struct {
	// caBundle is a ConfigMap in this namespace whose key `ca.crt` holds the PEM CA
	// certificates the chat server's certificate chains to, for a chat server with a
	// certificate from a private CA. Gateway API implementations read the key `ca.crt`
	// only, so the key cannot be chosen. Unset: the Gateway implementation's system roots.
	// +optional
	CABundle *ConfigMapRef `json:"caBundle,omitempty"`
}

// ConfigMapRef names a ConfigMap in this namespace.
type ConfigMapRef struct {
	// name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Name string `json:"name"`
}

// LocalRef names an object in this namespace.
type LocalRef struct {
	// name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Name string `json:"name"`
}

// ExposureType selects how the proxy is exposed.
// +kubebuilder:validation:Enum=gateway;ingress
type ExposureType string

const (
	// ExposureGateway renders a Gateway API HTTPRoute attached to the user's Gateway.
	ExposureGateway ExposureType = "gateway"
	// ExposureIngress renders an Ingress for the cluster's Ingress controller.
	ExposureIngress ExposureType = "ingress"
)

// MobileProxyExposure selects Gateway API or Ingress.
type MobileProxyExposure struct {
	// type is gateway (an HTTPRoute; default) or ingress.
	// +kubebuilder:default=gateway
	// +optional
	Type ExposureType `json:"type,omitempty"`

	// gateway configures the HTTPRoute.
	// +optional
	Gateway *GatewayExposure `json:"gateway,omitempty"`

	// ingress configures the Ingress.
	// +optional
	Ingress *IngressExposure `json:"ingress,omitempty"`
}

// GatewayExposure attaches the routes to a user's Gateway.
// +kubebuilder:validation:XValidation:rule="!has(self.redirectSectionName) || !has(self.parentRef.sectionName) || self.redirectSectionName != self.parentRef.sectionName",message="redirectSectionName must name the plain-HTTP listener, not the HTTPS listener in parentRef.sectionName"
// +kubebuilder:validation:XValidation:rule="!has(self.redirectSectionName) || has(self.parentRef.sectionName)",message="with redirectSectionName set, parentRef.sectionName must name the HTTPS listener, or the chat route would also be served on the plain-HTTP listener"
type GatewayExposure struct {
	// parentRef is the Gateway (and its HTTPS listener) the HTTPRoute attaches to.
	// +required
	ParentRef GatewayParentRef `json:"parentRef"`

	// redirectSectionName is the Gateway's plain-HTTP listener: a second HTTPRoute attached
	// to it redirects every request to HTTPS. Empty: no redirect route.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	RedirectSectionName string `json:"redirectSectionName,omitempty"`

	// grantCertificateAccess creates a ReferenceGrant that lets the Gateway's namespace read
	// the TLS Secret of this MobileProxy, so its listener can reference it across namespaces.
	// +optional
	GrantCertificateAccess bool `json:"grantCertificateAccess,omitempty"`
}

// GatewayParentRef names a Gateway and optionally one of its listeners.
type GatewayParentRef struct {
	// name of the Gateway.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// namespace of the Gateway; default this MobileProxy's namespace.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// sectionName is the HTTPS listener's name.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	SectionName string `json:"sectionName,omitempty"`
}

// IngressProfile selects which controller-specific annotations are rendered for the
// settings that Ingress has no portable field for.
// +kubebuilder:validation:Enum=generic;traefik;haproxy;nginx-inc
type IngressProfile string

const (
	// ProfileGeneric renders no controller-specific annotations.
	ProfileGeneric IngressProfile = "generic"
	// ProfileTraefik targets Traefik's Kubernetes Ingress provider.
	ProfileTraefik IngressProfile = "traefik"
	// ProfileHAProxy targets the HAProxy Kubernetes Ingress Controller (haproxy.org).
	ProfileHAProxy IngressProfile = "haproxy"
	// ProfileNginxInc targets F5 NGINX Ingress Controller (nginx.org annotations).
	ProfileNginxInc IngressProfile = "nginx-inc"
)

// IngressExposure configures the Ingress.
type IngressExposure struct {
	// className is the IngressClass; empty uses the cluster's default class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClassName string `json:"className,omitempty"`

	// profile selects controller-specific annotations (timeouts, body size, HSTS, ...).
	// +kubebuilder:default=generic
	// +optional
	Profile IngressProfile `json:"profile,omitempty"`

	// annotations are added to the Ingress, overriding the profile's on conflict.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// HSTS is the Strict-Transport-Security policy.
type HSTS struct {
	// enabled sends the header. Default true.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// maxAge in seconds. Default one year.
	// +kubebuilder:default=31536000
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=63072000
	// +optional
	MaxAge int32 `json:"maxAge,omitempty"`
	// includeSubdomains adds includeSubDomains to the header.
	// +optional
	IncludeSubdomains bool `json:"includeSubdomains,omitempty"`
}

// Timeouts bound the upstream connection. Whole seconds between 1s and 24h.
type Timeouts struct {
	// read is how long a request may wait for the chat server (proxy_read_timeout on `/`).
	// +kubebuilder:default="600s"
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="must be between 1s and 24h"
	Read *metav1.Duration `json:"read,omitempty"`
	// send is how long sending a request to the chat server may take.
	// +kubebuilder:default="300s"
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="must be between 1s and 24h"
	Send *metav1.Duration `json:"send,omitempty"`
	// websocketIdle is how long an idle websocket stays open.
	// +kubebuilder:default="90s"
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="must be between 1s and 24h"
	WebsocketIdle *metav1.Duration `json:"websocketIdle,omitempty"`
}
