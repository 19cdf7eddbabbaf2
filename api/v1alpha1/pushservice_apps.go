package v1alpha1

// PushApp is one mobile app (one platform name) the relay delivers for directly, with
// exactly one of apns (iOS) or fcm (Android).
// +kubebuilder:validation:XValidation:rule="has(self.apns) != has(self.fcm)",message="each app needs exactly one of apns (iOS) or fcm (Android)"
type PushApp struct {
	// platform is the name the chat server sends in a push's `platform` field, without the
	// `-vN` app-version suffix: `apple`, `apple_rn`, `android`, `android_rn`, ...
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9_]+$`
	// +required
	Platform string `json:"platform"`

	// apns delivers this app's pushes through Apple Push Notification service.
	// +optional
	APNs *APNsApp `json:"apns,omitempty"`

	// fcm delivers this app's pushes through Firebase Cloud Messaging (HTTP v1).
	// +optional
	FCM *FCMApp `json:"fcm,omitempty"`

	// caBundleSecretRef names extra CA certificates (PEM) to trust for this app's APNs or
	// FCM connections, e.g. for a TLS-inspecting egress proxy or a test endpoint.
	// +optional
	CABundleSecretRef *SecretKeyRef `json:"caBundleSecretRef,omitempty"`
}

// APNsEnvironment selects Apple's production or development (sandbox) host.
// +kubebuilder:validation:Enum=production;development
type APNsEnvironment string

const (
	APNsProduction  APNsEnvironment = "production"
	APNsDevelopment APNsEnvironment = "development"
)

// APNsApp is an iOS app: token auth (a .p8 key, preferred: it never expires) or
// certificate auth (a .p12 or PEM certificate, which expires yearly).
// +kubebuilder:validation:XValidation:rule="has(self.authKeySecretRef) != has(self.certificateSecretRef)",message="apns needs exactly one of authKeySecretRef (token auth, .p8) or certificateSecretRef (certificate auth, .p12/PEM)"
// +kubebuilder:validation:XValidation:rule="!has(self.authKeySecretRef) || (has(self.keyID) && has(self.teamID))",message="token auth (authKeySecretRef) needs keyID and teamID from the Apple developer account"
// +kubebuilder:validation:XValidation:rule="has(self.authKeySecretRef) || (!has(self.keyID) && !has(self.teamID))",message="keyID and teamID belong to token auth: use them with authKeySecretRef"
type APNsApp struct {
	// topic is the app's bundle ID, e.g. `com.example.chat`. For VoIP the relay appends
	// `.voip` itself.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=155
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`
	// +required
	Topic string `json:"topic"`

	// environment is `production` (App Store and TestFlight builds) or `development`
	// (builds from Xcode). A mismatch makes Apple reject every device token.
	// +kubebuilder:default=production
	// +optional
	Environment APNsEnvironment `json:"environment,omitempty"`

	// voip sends PushKit (VoIP) pushes: topic `<topic>.voip`, push type voip.
	// +optional
	VoIP bool `json:"voip,omitempty"`

	// authKeySecretRef names the Secret holding the .p8 signing key (token auth).
	// +optional
	AuthKeySecretRef *APNsAuthKeyRef `json:"authKeySecretRef,omitempty"`
	// keyID is the 10-character ID of the .p8 key.
	// +kubebuilder:validation:Pattern=`^[A-Z0-9]{10}$`
	// +optional
	KeyID string `json:"keyID,omitempty"`
	// teamID is the 10-character Apple developer team ID.
	// +kubebuilder:validation:Pattern=`^[A-Z0-9]{10}$`
	// +optional
	TeamID string `json:"teamID,omitempty"`

	// certificateSecretRef names the Secret holding a .p12 or PEM certificate with its
	// private key and the key of its password (certificate auth).
	// +optional
	CertificateSecretRef *APNsCertificateRef `json:"certificateSecretRef,omitempty"`

	// endpoint overrides the APNs host URL (advanced: a test or regional endpoint).
	// Default: Apple's production or development host per environment.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https://[^\s/?#]+(/[^\s]*)?$`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// FCMApp is an Android app delivered through Firebase Cloud Messaging.
type FCMApp struct {
	// serviceAccountSecretRef names the Secret holding the Firebase service-account JSON
	// (with project_id, client_email and private_key).
	// +required
	ServiceAccountSecretRef FCMServiceAccountRef `json:"serviceAccountSecretRef"`

	// endpoint overrides the FCM API base URL (advanced). Default Google's.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https://[^\s/?#]+(/[^\s]*)?$`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// APNsAuthKeyRef is a key of a Secret in the PushService's namespace holding a .p8 key.
type APNsAuthKeyRef struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// key in the Secret's data.
	// +kubebuilder:default=authkey.p8
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// APNsCertificateRef is a Secret holding an APNs certificate and its password.
type APNsCertificateRef struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// key of the .p12 or PEM (certificate and private key) in the Secret's data.
	// +kubebuilder:default=certificate.p12
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
	// passwordKey is the key of the certificate's password in the same Secret (an empty
	// value when the certificate has no password).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	// +required
	PasswordKey string `json:"passwordKey"`
}

// FCMServiceAccountRef is a key of a Secret holding a Firebase service-account JSON.
type FCMServiceAccountRef struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// key in the Secret's data.
	// +kubebuilder:default=service-account.json
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// SecretKeyRef is one key of a Secret in the PushService's namespace.
type SecretKeyRef struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// key in the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +required
	Key string `json:"key"`
}
