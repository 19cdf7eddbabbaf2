package v1alpha1

// Condition types and reasons shared by both kinds. Ready always summarises the others, so
// `kubectl wait --for=condition=Ready` and GitOps health checks need to read only one.
const (
	// ConditionReady is the summary condition.
	ConditionReady = "Ready"
	// ConditionProgressing is True while a rollout of a new spec is under way.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when the object works less well than asked (pods failing,
	// an apply refused).
	ConditionDegraded = "Degraded"

	// ReasonReconciling means the operator has not yet finished applying the spec.
	ReasonReconciling = "Reconciling"
)
