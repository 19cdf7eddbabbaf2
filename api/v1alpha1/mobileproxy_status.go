package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MobileProxyStatus is the observed state of a MobileProxy.
type MobileProxyStatus struct {
	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// url is what users type into the mobile app as the server URL: `https://<host>`.
	// +optional
	URL string `json:"url,omitempty"`

	// certificate describes the certificate phones are served, as last judged.
	// +optional
	Certificate *CertificateStatus `json:"certificate,omitempty"`

	// conditions: Ready summarises CertificateValid, Admitted and BackendAvailable.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CertificateStatus is what the operator read from the TLS Secret.
type CertificateStatus struct {
	// notAfter is when the leaf certificate expires.
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// issuer is the leaf certificate's issuer (distinguished name).
	// +optional
	Issuer string `json:"issuer,omitempty"`
	// dnsNames are the leaf certificate's DNS subject alternative names.
	// +listType=atomic
	// +optional
	DNSNames []string `json:"dnsNames,omitempty"`
}

// MobileProxy exposes an in-cluster chat server to mobile apps over HTTPS and WSS.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mproxy,categories=push
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Cert-Expires",type=date,JSONPath=`.status.certificate.notAfter`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MobileProxy struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec MobileProxySpec `json:"spec"`
	// +optional
	Status MobileProxyStatus `json:"status,omitempty"`
}

// MobileProxyList is a list of MobileProxies.
// +kubebuilder:object:root=true
type MobileProxyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MobileProxy `json:"items"`
}
