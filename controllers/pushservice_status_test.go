package controllers

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// setStatus is a pure function of the observation: these cases need no API server.
func TestStatusConditionVocabulary(t *testing.T) {
	deployment := func(mutate func(*appsv1.Deployment)) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}}
		if mutate != nil {
			mutate(d)
		}
		return d
	}
	type want struct{ ready, progressing, degraded string }
	cases := []struct {
		name    string
		suspend bool
		obs     observation
		want    want
	}{
		{"available", false, observation{deployment: deployment(nil)},
			want{pushv1alpha1.ReasonRelayAvailable, pushv1alpha1.ReasonRolloutComplete, pushv1alpha1.ReasonAsExpected}},
		{"no Deployment yet", false, observation{},
			want{pushv1alpha1.ReasonRollingOut, pushv1alpha1.ReasonRollingOut, pushv1alpha1.ReasonAsExpected}},
		{"new spec not yet seen", false, observation{deployment: deployment(func(d *appsv1.Deployment) { d.Generation = 3 })},
			want{pushv1alpha1.ReasonRollingOut, pushv1alpha1.ReasonRollingOut, pushv1alpha1.ReasonAsExpected}},
		{"old pods still terminating", false, observation{deployment: deployment(func(d *appsv1.Deployment) { d.Status.Replicas = 3 })},
			want{pushv1alpha1.ReasonRollingOut, pushv1alpha1.ReasonRollingOut, pushv1alpha1.ReasonAsExpected}},
		{"rolled out, a pod not ready", false, observation{deployment: deployment(func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 1 })},
			want{pushv1alpha1.ReasonPodsNotReady, pushv1alpha1.ReasonRolloutComplete, pushv1alpha1.ReasonAsExpected}},
		{"progress deadline exceeded", false, observation{deployment: deployment(func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas = 1
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
				Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "push-abc" has timed out progressing.`}}
		})}, want{pushv1alpha1.ReasonProgressDeadlineExceeded, pushv1alpha1.ReasonRollingOut, pushv1alpha1.ReasonProgressDeadlineExceeded}},
		{"quota refuses pods", false, observation{deployment: deployment(func(d *appsv1.Deployment) {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
				Reason: "FailedCreate", Message: "exceeded quota"}}
		})}, want{pushv1alpha1.ReasonReplicaFailure, pushv1alpha1.ReasonRolloutComplete, pushv1alpha1.ReasonReplicaFailure}},
		{"apply refused", false, observation{deployment: deployment(nil), applyErr: errors.New(`applying Ingress "push": denied`)},
			want{pushv1alpha1.ReasonApplyFailed, pushv1alpha1.ReasonRolloutComplete, pushv1alpha1.ReasonApplyFailed}},
		{"suspended", true, observation{deployment: deployment(func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr.To[int32](0)
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2}
		})}, want{pushv1alpha1.ReasonSuspended, pushv1alpha1.ReasonRolloutComplete, pushv1alpha1.ReasonAsExpected}},
		{"credentials invalid wins over everything", true, observation{deployment: deployment(nil),
			credentialProblem: &credentialProblem{Reason: pushv1alpha1.ReasonSecretKeyMissing, Message: `apps[x]: Secret "s" has no key "k"`}},
			want{pushv1alpha1.ReasonCredentialsInvalid, pushv1alpha1.ReasonRolloutComplete, pushv1alpha1.ReasonAsExpected}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := directPushService("chat")
			ps.Generation = 7
			ps.Spec.Suspend = tc.suspend
			setStatus(ps, tc.obs)
			got := want{}
			for condType, dst := range map[string]*string{
				pushv1alpha1.ConditionReady: &got.ready, pushv1alpha1.ConditionProgressing: &got.progressing, pushv1alpha1.ConditionDegraded: &got.degraded,
			} {
				c := meta.FindStatusCondition(ps.Status.Conditions, condType)
				if c == nil || c.ObservedGeneration != 7 {
					t.Fatalf("%s missing or for the wrong generation: %+v", condType, c)
				}
				*dst = c.Reason
			}
			if got != tc.want {
				t.Errorf("reasons (ready, progressing, degraded) = %+v, want %+v", got, tc.want)
			}
			ready := meta.IsStatusConditionTrue(ps.Status.Conditions, pushv1alpha1.ConditionReady)
			if ready != (tc.want.ready == pushv1alpha1.ReasonRelayAvailable) {
				t.Errorf("Ready = %v with reason %s", ready, got.ready)
			}
		})
	}
}

func TestRequeueTimes(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	r := &PushServiceReconciler{}
	ps := directPushService("chat")
	if got := r.requeueAfter(ps, nil, now); got != 0 {
		t.Errorf("nothing pending: requeue after %s, want none", got)
	}
	if got := r.requeueAfter(ps, &credentialProblem{}, now); got != credentialRetry {
		t.Errorf("unusable credentials: requeue after %s, want %s", got, credentialRetry)
	}
	ps.Spec.DebugUntil = &metav1.Time{Time: now.Add(10 * time.Minute)}
	if got := r.requeueAfter(ps, nil, now); got != 10*time.Minute+time.Second {
		t.Errorf("debugUntil in 10m: requeue after %s", got)
	}
	// A certificate's warning date comes before the end of debugUntil.
	ps.Status.Credentials = []pushv1alpha1.CredentialStatus{{NotAfter: &metav1.Time{Time: now.Add(expiryWarning + 5*time.Minute)}}}
	if got := r.requeueAfter(ps, nil, now); got != 5*time.Minute+time.Second {
		t.Errorf("certificate warning in 5m: requeue after %s", got)
	}
}
