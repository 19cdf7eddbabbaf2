package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestCachedDeploymentsKeepWhatTheRolloutStatusReads(t *testing.T) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "push", Generation: 3, Annotations: map[string]string{appliedHashAnnotation: "abc"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "push-operator"}},
		},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "relay", Image: "relay:1"}}},
		}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 3, UpdatedReplicas: 2, AvailableReplicas: 2},
	}
	out, err := rolloutOnly(d)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*appsv1.Deployment)
	if len(got.Spec.Template.Spec.Containers) != 0 || got.ManagedFields != nil {
		t.Errorf("pod template or managedFields kept: %+v", got)
	}
	if *got.Spec.Replicas != 2 || got.Generation != 3 || got.Annotations[appliedHashAnnotation] != "abc" {
		t.Errorf("lost replicas, generation or the applied hash: %+v", got)
	}
	if r := rolloutOf(got); !r.done || !r.available {
		t.Errorf("rollout of the cached copy = %+v, want done and available", r)
	}
	other := &corev1.Service{}
	if out, _ := rolloutOnly(other); out != other {
		t.Error("a non-Deployment was changed")
	}
}
