// Package config is the relay's configuration file: the YAML document a PushService's
// ConfigMap carries (rendered by the operator from these same types) and that
// `relay --config` reads. docs/relay-config.md documents every field and its default.
//
// Credential material never appears in the file itself: the file names paths of mounted
// Secret files, so a Secret update reaches the relay without a new config (hot reload).
package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Config is the whole relay configuration.
type Config struct {
	// Listen is the address the push API listens on. Default ":8066" (the reference's).
	Listen string `json:"listen,omitempty"`
	// TLS makes the relay serve HTTPS. Absent: plain HTTP (e.g. behind a TLS Ingress).
	TLS *TLS `json:"tls,omitempty"`
	// Apps are the platforms the relay delivers for directly, one per platform name.
	Apps []App `json:"apps,omitempty"`
	// Forward, when set, relays every request whose platform is not in Apps unchanged to an
	// upstream push service (forward mode).
	Forward *Forward `json:"forward,omitempty"`
	// Timeouts bound each delivery attempt and the whole send.
	Timeouts Timeouts `json:"timeouts,omitempty"`
	// Throttle limits requests per caller.
	Throttle Throttle `json:"throttle,omitempty"`
	// ContentPolicy is the content ceiling: full | generic | id_only. Default full.
	ContentPolicy ContentPolicy `json:"contentPolicy,omitempty"`
	// CallerAuth restricts who may send. Empty: anyone who can reach the relay (as the reference).
	CallerAuth CallerAuth `json:"callerAuth,omitempty"`
	// Log sets the log level and format.
	Log Log `json:"log,omitempty"`
	// Metrics turns the /metrics endpoint on or off.
	Metrics Metrics `json:"metrics,omitempty"`
}

// TLS is the relay's serving certificate.
type TLS struct {
	// CertFile and KeyFile are PEM files (e.g. a mounted kubernetes.io/tls Secret).
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
	// MinVersion is "1.2" (default) or "1.3".
	MinVersion string `json:"minVersion,omitempty"`
}

// AppKind says how an app's pushes are delivered.
type AppKind string

const (
	AppKindApple   AppKind = "apple"
	AppKindAndroid AppKind = "android"
	AppKindForward AppKind = "forward"
)

// App is one platform name and how to deliver to it.
type App struct {
	// Platform is the name in a push's `platform` field without its `-vN` suffix.
	Platform string `json:"platform"`
	// Kind is apple, android or forward; exactly the matching section below is set.
	Kind    AppKind  `json:"kind"`
	APNs    *APNs    `json:"apns,omitempty"`
	FCM     *FCM     `json:"fcm,omitempty"`
	Forward *Forward `json:"forward,omitempty"`
}

// APNsEnvironment selects Apple's production or development (sandbox) host.
type APNsEnvironment string

const (
	APNsProduction  APNsEnvironment = "production"
	APNsDevelopment APNsEnvironment = "development"
)

// APNs configures delivery through Apple Push Notification service. Exactly one of token
// auth (AuthKeyFile+KeyID+TeamID) or certificate auth (CertificateFile) is set.
type APNs struct {
	// Topic is the app's bundle ID (for VoIP the relay appends ".voip").
	Topic string `json:"topic"`
	// Environment is production (default) or development.
	Environment APNsEnvironment `json:"environment,omitempty"`
	// VoIP sends PushKit pushes: topic "<bundle>.voip", push type voip.
	VoIP bool `json:"voip,omitempty"`
	// BackgroundPushType sends content-available-only pushes (clear, test) the way Apple
	// documents them: push type background, priority 5. Off (default): push type alert,
	// priority 10, as the reference push proxy sends them and the apps expect.
	BackgroundPushType bool `json:"backgroundPushType,omitempty"`

	// AuthKeyFile is the .p8 signing key (token auth), with its KeyID and TeamID.
	AuthKeyFile string `json:"authKeyFile,omitempty"`
	KeyID       string `json:"keyID,omitempty"`
	TeamID      string `json:"teamID,omitempty"`

	// CertificateFile is a .p12 or PEM certificate with its key (certificate auth);
	// CertificatePasswordFile holds its password (empty file or absent: no password).
	CertificateFile         string `json:"certificateFile,omitempty"`
	CertificatePasswordFile string `json:"certificatePasswordFile,omitempty"`
	// CertificatePassword is the certificate's password held in memory, never written to
	// YAML: only a legacy mattermost-push-proxy.json (ApplePushCertPassword) sets it. When
	// non-empty it takes precedence over CertificatePasswordFile.
	CertificatePassword string `json:"-"`

	// Endpoint overrides the APNs host URL (advanced: regional or test endpoints).
	Endpoint string `json:"endpoint,omitempty"`
	// CAFile adds trusted CA certificates (PEM) for the APNs connection, e.g. for a
	// TLS-inspecting egress proxy or a test endpoint.
	CAFile string `json:"caFile,omitempty"`
}

// FCM configures delivery through Firebase Cloud Messaging HTTP v1.
type FCM struct {
	// ServiceAccountFile is the Google service-account JSON (project_id, client_email,
	// private_key, token_uri).
	ServiceAccountFile string `json:"serviceAccountFile"`
	// Endpoint overrides the FCM API base URL (advanced).
	Endpoint string `json:"endpoint,omitempty"`
	// CAFile adds trusted CA certificates (PEM) for FCM and token endpoint connections.
	CAFile string `json:"caFile,omitempty"`
}

// Forward relays requests unchanged to an upstream push service. The egress proxy comes
// from the standard HTTPS_PROXY / NO_PROXY environment variables.
type Forward struct {
	// UpstreamURL is the upstream push service, e.g. https://push.mattermost.com.
	UpstreamURL string `json:"upstreamURL"`
	// CAFile adds trusted CA certificates (PEM) for the upstream connection.
	CAFile string `json:"caFile,omitempty"`
}

// Timeouts bound deliveries; defaults are the reference's.
type Timeouts struct {
	// PerTry bounds one delivery attempt. Default 8s.
	PerTry Duration `json:"perTry,omitempty"`
	// Send bounds a whole send including retries. Default 30s.
	Send Duration `json:"send,omitempty"`
	// ShutdownDelay is how long the relay keeps serving after SIGTERM with /readyz failing,
	// so endpoints drop it before it stops accepting. Default 5s. The pod's
	// terminationGracePeriodSeconds must exceed ShutdownDelay + Send.
	ShutdownDelay Duration `json:"shutdownDelay,omitempty"`
}

// Throttle limits requests per caller (server_id, else VaryByHeader, else remote address).
type Throttle struct {
	// PerSecond is the sustained rate per caller. Default 300; 0 keeps the default, a
	// negative value disables throttling.
	PerSecond float64 `json:"perSecond,omitempty"`
	// Burst is the bucket size per caller. Default: PerSecond rounded up.
	Burst int `json:"burst,omitempty"`
	// VaryByHeader keys callers on this header when the request carries no server_id.
	VaryByHeader string `json:"varyByHeader,omitempty"`
	// MaxCallers bounds how many caller buckets are kept. Default 50000.
	MaxCallers int `json:"maxCallers,omitempty"`
}

// ContentPolicy is the most message content the relay lets leave the cluster.
type ContentPolicy string

const (
	ContentFull    ContentPolicy = "full"
	ContentGeneric ContentPolicy = "generic"
	ContentIDOnly  ContentPolicy = "id_only"
)

// CallerAuth restricts who may send pushes. All configured checks must pass.
type CallerAuth struct {
	// AllowedServerIDs, when non-empty, lists the server_id values accepted.
	AllowedServerIDs []string `json:"allowedServerIDs,omitempty"`
	// TokenFile holds a shared bearer token callers must send (Authorization: Bearer ...).
	TokenFile string `json:"tokenFile,omitempty"`
	// ClientCAFile, with TLS set, requires client certificates signed by these CAs.
	ClientCAFile string `json:"clientCAFile,omitempty"`
}

// Log sets logging.
type Log struct {
	// Level is debug, info (default) or error.
	Level string `json:"level,omitempty"`
	// Format is json (default) or plain.
	Format string `json:"format,omitempty"`
}

// Metrics controls the Prometheus endpoint.
type Metrics struct {
	// Enabled serves /metrics. Default true.
	Enabled *bool `json:"enabled,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("8s", "1m30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"8s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
