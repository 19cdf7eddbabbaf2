package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
	"github.com/pushops/push-operator/internal/credentials"
)

// expiryWarning is how long before a certificate expires the operator starts warning.
const expiryWarning = 30 * 24 * time.Hour

// credentialProblem is the first reason the credentials cannot be used, for the
// CredentialsValid condition.
type credentialProblem struct {
	Reason  string
	Message string
}

// checkCredentials reads every referenced Secret (directly from the API server: the
// manager does not cache Secret data) and checks each credential the way the relay will
// load it. It returns one status entry per credential and the first problem, if any.
func checkCredentials(ctx context.Context, reader client.Reader, ps *pushv1alpha1.PushService, now time.Time) ([]pushv1alpha1.CredentialStatus, *credentialProblem, error) {
	secrets := map[string]*corev1.Secret{}
	var statuses []pushv1alpha1.CredentialStatus
	var problem *credentialProblem
	for _, ref := range pushservice.CredentialRefs(ps) {
		st := pushv1alpha1.CredentialStatus{Name: ref.Name, Kind: ref.Kind, SecretName: ref.Secret}
		secret, ok := secrets[ref.Secret]
		if !ok {
			secret = &corev1.Secret{}
			err := reader.Get(ctx, types.NamespacedName{Namespace: ps.Namespace, Name: ref.Secret}, secret)
			switch {
			case apierrors.IsNotFound(err):
				secret = nil
			case err != nil:
				return nil, nil, fmt.Errorf("reading Secret %q for %s: %w", ref.Secret, ref.Name, err)
			}
			secrets[ref.Secret] = secret
		}
		reason, message, info := checkOne(ref, secret, now)
		st.Valid = reason == ""
		st.Message = message
		if !info.NotAfter.IsZero() {
			st.NotAfter = &metav1.Time{Time: info.NotAfter.UTC().Truncate(time.Second)}
			st.ExpiringSoon = st.Valid && info.NotAfter.Sub(now) < expiryWarning
		}
		if !st.Valid && problem == nil {
			problem = &credentialProblem{Reason: reason, Message: fmt.Sprintf("%s: %s", ref.Name, message)}
		}
		statuses = append(statuses, st)
	}
	return statuses, problem, nil
}

// checkOne returns an empty reason when the credential is usable, and the message shown
// in status either way (what is wrong, or what identifies the credential).
func checkOne(ref pushservice.CredentialRef, secret *corev1.Secret, now time.Time) (reason, message string, info credentials.Info) {
	if secret == nil {
		return pushv1alpha1.ReasonCredentialSecretNotFound, fmt.Sprintf("Secret %q not found", ref.Secret), info
	}
	for _, key := range []string{ref.Key, ref.PasswordKey, ref.CertKey} {
		if _, ok := secret.Data[key]; key != "" && !ok {
			return pushv1alpha1.ReasonSecretKeyMissing, fmt.Sprintf("Secret %q has no key %q", ref.Secret, key), info
		}
	}
	data := secret.Data[ref.Key]
	var err error
	switch ref.Kind {
	case pushv1alpha1.CredentialAPNsAuthKey:
		info, err = credentials.APNsAuthKey(data)
	case pushv1alpha1.CredentialAPNsCertificate:
		info, err = credentials.APNsCertificate(data, string(secret.Data[ref.PasswordKey]), now)
	case pushv1alpha1.CredentialFCMServiceAccount:
		info, err = credentials.FCMServiceAccount(data)
	case pushv1alpha1.CredentialCABundle, pushv1alpha1.CredentialClientCA:
		info, err = credentials.CABundle(data)
	case pushv1alpha1.CredentialCallerToken:
		info, err = credentials.Token(data)
	case pushv1alpha1.CredentialServingCert:
		info, err = credentials.ServingKeyPair(secret.Data[ref.CertKey], data, now)
	default:
		err = fmt.Errorf("unknown credential kind %q", ref.Kind)
	}
	var expired *credentials.ExpiredError
	switch {
	case errors.As(err, &expired):
		return pushv1alpha1.ReasonCertificateExpired, err.Error(), info
	case err != nil:
		return pushv1alpha1.ReasonInvalidCredential, fmt.Sprintf("Secret %q key %q: %v", ref.Secret, ref.Key, err), info
	}
	return "", info.Summary, info
}

// newlyExpiring are the credentials that entered the 30-day warning window since the
// last status, so the warning event is sent once rather than on every reconcile.
func newlyExpiring(old, current []pushv1alpha1.CredentialStatus) []pushv1alpha1.CredentialStatus {
	var out []pushv1alpha1.CredentialStatus
	for _, c := range current {
		if !c.ExpiringSoon {
			continue
		}
		warned := false
		for _, o := range old {
			if o.Name == c.Name && o.ExpiringSoon && o.NotAfter.Equal(c.NotAfter) {
				warned = true
			}
		}
		if !warned {
			out = append(out, c)
		}
	}
	return out
}

// nextCredentialCheck is when a certificate will enter the warning window or expire, so
// the operator looks again then even if nothing else changes; zero when never.
func nextCredentialCheck(statuses []pushv1alpha1.CredentialStatus, now time.Time) time.Time {
	var next time.Time
	for _, c := range statuses {
		if c.NotAfter == nil {
			continue
		}
		for _, t := range []time.Time{c.NotAfter.Add(-expiryWarning), c.NotAfter.Time} {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	return next
}
