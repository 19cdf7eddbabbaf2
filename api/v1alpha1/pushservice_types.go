package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PushMode selects how the relay delivers notifications.
// +kubebuilder:validation:Enum=direct;forward
type PushMode string

const (
	// PushModeDirect delivers to Apple APNs and Google FCM with the apps' own credentials.
	PushModeDirect PushMode = "direct"
	// PushModeForward relays every request unchanged to an upstream push service.
	PushModeForward PushMode = "forward"
)

// PushApp is one mobile app (one platform name) the relay delivers for.
type PushApp struct {
	// platform is the name the chat server sends in a push's `platform` field, without the
	// `-vN` app-version suffix: `apple`, `apple_rn`, `android`, `android_rn`, ...
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9_]+$`
	// +required
	Platform string `json:"platform"`
}

// PushServiceSpec is the desired state of a PushService.
type PushServiceSpec struct {
	// mode is `direct` (deliver to APNs/FCM) or `forward` (relay to an upstream push service).
	// +kubebuilder:default=direct
	// +optional
	Mode PushMode `json:"mode,omitempty"`

	// apps lists the mobile apps the relay delivers for, one entry per platform name.
	// +listType=map
	// +listMapKey=platform
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Apps []PushApp `json:"apps,omitempty"`
}

// PushServiceStatus is the observed state of a PushService.
type PushServiceStatus struct {
	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready summarises the others.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PushService runs a self-hosted, Mattermost-compatible push notification relay.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=psvc,categories=push
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
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
