// Package v1alpha1 contains the push.pushops.dev/v1alpha1 API: PushService (a self-hosted
// push relay) and MobileProxy (HTTPS/WSS exposure of a chat server to mobile apps).
// +kubebuilder:object:generate=true
// +groupName=push.pushops.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the objects in this package.
	GroupVersion = schema.GroupVersion{Group: "push.pushops.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&PushService{}, &PushServiceList{},
		&MobileProxy{}, &MobileProxyList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
