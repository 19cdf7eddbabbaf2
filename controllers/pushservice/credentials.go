package pushservice

import (
	"fmt"
	"path"
	"strings"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// CredentialRef is one Secret key the relay reads as a file. The same list drives the
// credential check, the projected volume and the file paths written into the relay config,
// so the three cannot disagree.
type CredentialRef struct {
	// Name says what uses it, as shown in status: `apps[apple_rn]`, `callerAuth.token`.
	Name string
	Kind pushv1alpha1.CredentialKind
	// Secret and Key locate the data; File is its path relative to ConfigDir.
	Secret string
	Key    string
	File   string
	// PasswordKey and PasswordFile: the certificate password, for APNs certificates only.
	PasswordKey  string
	PasswordFile string
	// CertKey and CertFile: the certificate of a serving key pair (Key is then tls.key).
	CertKey  string
	CertFile string
}

// Path is the absolute path of the credential file inside the relay container.
func Path(rel string) string {
	if rel == "" {
		return ""
	}
	return path.Join(ConfigDir, rel)
}

// CredentialRefs lists every Secret key a PushService references, in spec order.
func CredentialRefs(ps *pushv1alpha1.PushService) []CredentialRef {
	var refs []CredentialRef
	for _, app := range ps.Spec.Apps {
		refs = append(refs, appCredentialRefs(app)...)
	}
	if fw := ps.Spec.Forward; fw != nil && fw.CABundleSecretRef != nil {
		refs = append(refs, CredentialRef{Name: "forward.caBundle", Kind: pushv1alpha1.CredentialCABundle,
			Secret: fw.CABundleSecretRef.Name, Key: fw.CABundleSecretRef.Key, File: "forward/ca.crt"})
	}
	if ca := ps.Spec.CallerAuth; ca != nil {
		if ca.TokenSecretRef != nil {
			refs = append(refs, CredentialRef{Name: "callerAuth.token", Kind: pushv1alpha1.CredentialCallerToken,
				Secret: ca.TokenSecretRef.Name, Key: ca.TokenSecretRef.Key, File: "caller/token"})
		}
		if ca.ClientCASecretRef != nil {
			refs = append(refs, CredentialRef{Name: "callerAuth.clientCA", Kind: pushv1alpha1.CredentialClientCA,
				Secret: ca.ClientCASecretRef.Name, Key: ca.ClientCASecretRef.Key, File: "caller/client-ca.crt"})
		}
	}
	if tls := ps.Spec.TLS; tls != nil {
		refs = append(refs, CredentialRef{Name: "tls", Kind: pushv1alpha1.CredentialServingCert,
			Secret: tls.SecretName, Key: "tls.key", File: "tls/tls.key", CertKey: "tls.crt", CertFile: "tls/tls.crt"})
	}
	return refs
}

func appCredentialRefs(app pushv1alpha1.PushApp) []CredentialRef {
	dir := "apps/" + app.Platform + "/"
	name := fmt.Sprintf("apps[%s]", app.Platform)
	var refs []CredentialRef
	switch {
	case app.APNs != nil && app.APNs.AuthKeySecretRef != nil:
		r := app.APNs.AuthKeySecretRef
		refs = append(refs, CredentialRef{Name: name, Kind: pushv1alpha1.CredentialAPNsAuthKey,
			Secret: r.Name, Key: orDefault(r.Key, "authkey.p8"), File: dir + "authkey.p8"})
	case app.APNs != nil && app.APNs.CertificateSecretRef != nil:
		r := app.APNs.CertificateSecretRef
		key := orDefault(r.Key, "certificate.p12")
		refs = append(refs, CredentialRef{Name: name, Kind: pushv1alpha1.CredentialAPNsCertificate,
			Secret: r.Name, Key: key, File: dir + certificateFileName(key),
			PasswordKey: r.PasswordKey, PasswordFile: dir + "certificate.password"})
	case app.FCM != nil:
		r := app.FCM.ServiceAccountSecretRef
		refs = append(refs, CredentialRef{Name: name, Kind: pushv1alpha1.CredentialFCMServiceAccount,
			Secret: r.Name, Key: orDefault(r.Key, "service-account.json"), File: dir + "service-account.json"})
	}
	if r := app.CABundleSecretRef; r != nil {
		refs = append(refs, CredentialRef{Name: name + ".caBundle", Kind: pushv1alpha1.CredentialCABundle,
			Secret: r.Name, Key: r.Key, File: dir + "ca.crt"})
	}
	return refs
}

// certificateFileName keeps the PEM/PKCS#12 distinction of the Secret key visible in the
// file name, so a person inspecting the pod sees which format was mounted.
func certificateFileName(key string) string {
	lower := strings.ToLower(key)
	if strings.HasSuffix(lower, ".pem") || strings.HasSuffix(lower, ".crt") {
		return "certificate.pem"
	}
	return "certificate.p12"
}

// SecretNames are the distinct Secrets a PushService references (for the watch index).
func SecretNames(ps *pushv1alpha1.PushService) []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range CredentialRefs(ps) {
		if !seen[r.Secret] {
			seen[r.Secret] = true
			names = append(names, r.Secret)
		}
	}
	return names
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
