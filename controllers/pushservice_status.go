package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
)

// observation is what one reconcile learned, from which the status is computed.
type observation struct {
	credentials []pushv1alpha1.CredentialStatus
	// credentialProblem is set when a credential is unusable; nothing was applied then.
	credentialProblem *credentialProblem
	// applyErr is set when the API server refused a child object.
	applyErr error
	// changes are what the apply created, updated, restored or deleted, for the events.
	changes []childChange
	// deployment is the relay Deployment as last seen; nil when it does not exist.
	deployment *appsv1.Deployment
	logLevel   pushv1alpha1.LogLevel
}

// setStatus writes the observation into ps.Status. Ready summarises: True only with valid
// credentials, not suspended, nothing refused, the rollout done and all pods available.
func setStatus(ps *pushv1alpha1.PushService, o observation) {
	st := &ps.Status
	st.ObservedGeneration = ps.Generation
	st.Credentials = o.credentials
	st.Endpoint = pushservice.Endpoint(ps)
	st.Endpoints = &pushv1alpha1.PushServiceEndpoints{
		InCluster: pushservice.InClusterURL(ps),
		Ingress:   pushservice.IngressURL(ps),
	}
	if o.credentialProblem == nil {
		st.LogLevel = o.logLevel
	}
	st.Replicas, st.ReadyReplicas = 0, 0
	if d := o.deployment; d != nil {
		st.Replicas = desiredPods(d)
		st.ReadyReplicas = d.Status.ReadyReplicas
	}

	set := func(condType string, status metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: condType, Status: status, Reason: reason, Message: message, ObservedGeneration: ps.Generation,
		})
	}

	if p := o.credentialProblem; p != nil {
		set(pushv1alpha1.ConditionCredentialsValid, metav1.ConditionFalse, p.Reason, p.Message)
	} else {
		set(pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded,
			fmt.Sprintf("%d credential(s) checked", len(o.credentials)))
	}

	rollout := rolloutOf(o.deployment)
	degradedReason, degradedMessage := rollout.degradedReason, rollout.degradedMessage
	if o.applyErr != nil {
		degradedReason, degradedMessage = pushv1alpha1.ReasonApplyFailed, o.applyErr.Error()
	}
	if degradedReason != "" {
		set(pushv1alpha1.ConditionDegraded, metav1.ConditionTrue, degradedReason, degradedMessage)
	} else {
		set(pushv1alpha1.ConditionDegraded, metav1.ConditionFalse, pushv1alpha1.ReasonAsExpected, "")
	}
	if rollout.done {
		set(pushv1alpha1.ConditionProgressing, metav1.ConditionFalse, pushv1alpha1.ReasonRolloutComplete, rollout.message)
	} else {
		set(pushv1alpha1.ConditionProgressing, metav1.ConditionTrue, pushv1alpha1.ReasonRollingOut, rollout.message)
	}

	switch {
	case o.credentialProblem != nil:
		set(pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonCredentialsInvalid,
			"credentials are not usable, so the running relay is left unchanged: "+o.credentialProblem.Message)
	case ps.Spec.Suspend:
		set(pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonSuspended,
			"spec.suspend is true: push notifications are disabled")
	case degradedReason != "":
		set(pushv1alpha1.ConditionReady, metav1.ConditionFalse, degradedReason, degradedMessage)
	case !rollout.done:
		set(pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonRollingOut, rollout.message)
	case !rollout.available:
		set(pushv1alpha1.ConditionReady, metav1.ConditionFalse, pushv1alpha1.ReasonPodsNotReady, rollout.message)
	default:
		set(pushv1alpha1.ConditionReady, metav1.ConditionTrue, pushv1alpha1.ReasonRelayAvailable,
			fmt.Sprintf("%d relay pod(s) ready at %s", st.ReadyReplicas, st.Endpoint))
	}
}

type rollout struct {
	done, available                 bool
	message                         string
	degradedReason, degradedMessage string
}

func desiredPods(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// rolloutOf reads a Deployment's status the way `kubectl rollout status` does.
func rolloutOf(d *appsv1.Deployment) rollout {
	if d == nil {
		return rollout{message: "the relay Deployment does not exist yet"}
	}
	var r rollout
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded":
			r.degradedReason, r.degradedMessage = pushv1alpha1.ReasonProgressDeadlineExceeded, c.Message
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			r.degradedReason, r.degradedMessage = pushv1alpha1.ReasonReplicaFailure, c.Message
		}
	}
	want := desiredPods(d)
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		r.message = "waiting for the Deployment controller to see the new spec"
	case s.UpdatedReplicas < want:
		r.message = fmt.Sprintf("%d of %d relay pods updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		r.message = fmt.Sprintf("%d old relay pod(s) terminating", s.Replicas-s.UpdatedReplicas)
	default:
		r.done = true
		r.available = s.AvailableReplicas >= want
		r.message = fmt.Sprintf("%d of %d relay pods available", s.AvailableReplicas, want)
	}
	return r
}
