package v1alpha1

// PushService condition types and reasons. Ready summarises: it is True only when the
// credentials are valid, the relay Deployment has rolled out and enough pods are ready.
const (
	// ConditionCredentialsValid reports whether every referenced Secret holds a usable
	// credential. While False the operator leaves the running relay untouched.
	ConditionCredentialsValid = "CredentialsValid"

	// ReasonRelayAvailable: the relay has rolled out and its pods are ready (Ready=True).
	ReasonRelayAvailable = "Available"
	// ReasonSuspended: spec.suspend is true; the relay runs no pods (Ready=False).
	ReasonSuspended = "Suspended"
	// ReasonCredentialsInvalid: Ready=False because CredentialsValid=False.
	ReasonCredentialsInvalid = "CredentialsInvalid"
	// ReasonRollingOut: the Deployment is rolling out the current spec (Progressing=True,
	// Ready=False).
	ReasonRollingOut = "RollingOut"
	// ReasonRolloutComplete: the Deployment runs the current spec (Progressing=False).
	ReasonRolloutComplete = "RolloutComplete"
	// ReasonPodsNotReady: the rollout is done but fewer pods are ready than wanted.
	ReasonPodsNotReady = "PodsNotReady"
	// ReasonProgressDeadlineExceeded: the Deployment gave up rolling out (Degraded=True).
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonReplicaFailure: the Deployment cannot create pods (Degraded=True).
	ReasonReplicaFailure = "ReplicaFailure"
	// ReasonApplyFailed: the API server refused a child object (Degraded=True).
	ReasonApplyFailed = "ApplyFailed"
	// ReasonAsExpected: nothing is degraded (Degraded=False).
	ReasonAsExpected = "AsExpected"

	// ReasonCredentialsLoaded: every credential parsed (CredentialsValid=True).
	ReasonCredentialsLoaded = "CredentialsLoaded"
	// ReasonCredentialSecretNotFound: a referenced Secret does not exist.
	ReasonCredentialSecretNotFound = "SecretNotFound"
	// ReasonSecretKeyMissing: a referenced Secret lacks the referenced key.
	ReasonSecretKeyMissing = "SecretKeyMissing"
	// ReasonInvalidCredential: a credential does not parse (wrong key type, bad password,
	// malformed JSON...); the message says which and why.
	ReasonInvalidCredential = "InvalidCredential"
	// ReasonCertificateExpired: a certificate's notAfter has passed.
	ReasonCertificateExpired = "CertificateExpired"

	// ReasonCertificateExpiresSoon is the Warning event 30 days before a certificate
	// expires.
	ReasonCertificateExpiresSoon = "CertificateExpiresSoon"
)
