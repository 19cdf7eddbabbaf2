package pushservice

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/relay/config"
)

// Defaults the operator writes explicitly into the relay config, so the pod's termination
// grace period is computed from the same numbers the relay uses.
const (
	defaultPerTry        = 8 * time.Second
	defaultSend          = 30 * time.Second
	defaultShutdownDelay = 5 * time.Second
)

// Timeouts are a PushService's delivery and drain bounds with defaults applied. The API
// server has validated the duration strings; an unparsable one falls back to the default.
type Timeouts struct{ PerTry, Send, ShutdownDelay time.Duration }

// EffectiveTimeouts applies the defaults to spec.timeouts.
func EffectiveTimeouts(ps *pushv1alpha1.PushService) Timeouts {
	t := Timeouts{PerTry: defaultPerTry, Send: defaultSend, ShutdownDelay: defaultShutdownDelay}
	if s := ps.Spec.Timeouts; s != nil {
		t.PerTry = parseDuration(s.PerTry, t.PerTry)
		t.Send = parseDuration(s.Send, t.Send)
		t.ShutdownDelay = parseDuration(s.ShutdownDelay, t.ShutdownDelay)
	}
	return t
}

func parseDuration(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return def
}

// EffectiveLogLevel is the level the relay should run with at now, and when that changes
// by itself (the end of debugUntil; zero when it does not).
func EffectiveLogLevel(ps *pushv1alpha1.PushService, now time.Time) (pushv1alpha1.LogLevel, time.Time) {
	if du := ps.Spec.DebugUntil; du != nil && now.Before(du.Time) {
		return pushv1alpha1.LogLevelDebug, du.Time
	}
	if ps.Spec.LogLevel == "" {
		return pushv1alpha1.LogLevelInfo, time.Time{}
	}
	return ps.Spec.LogLevel, time.Time{}
}

// RelayConfig is the relay configuration for a PushService at time now (now only matters
// for debugUntil).
func RelayConfig(ps *pushv1alpha1.PushService, now time.Time) config.Config {
	level, _ := EffectiveLogLevel(ps, now)
	t := EffectiveTimeouts(ps)
	enabled := true
	cfg := config.Config{
		Listen:        fmt.Sprintf(":%d", RelayPort),
		ContentPolicy: config.ContentPolicy(orDefault(string(ps.Spec.ContentPolicy), string(config.ContentFull))),
		Timeouts: config.Timeouts{
			PerTry: config.Duration(t.PerTry), Send: config.Duration(t.Send), ShutdownDelay: config.Duration(t.ShutdownDelay),
		},
		Log:     config.Log{Level: string(level), Format: "json"},
		Metrics: config.Metrics{Enabled: &enabled},
	}
	refs := CredentialRefs(ps)
	for _, app := range ps.Spec.Apps {
		cfg.Apps = append(cfg.Apps, appConfig(app, refs))
	}
	if ps.Spec.Mode == pushv1alpha1.PushModeForward {
		fw := &config.Forward{UpstreamURL: DefaultUpstreamURL}
		if s := ps.Spec.Forward; s != nil {
			fw.UpstreamURL = orDefault(s.UpstreamURL, DefaultUpstreamURL)
			fw.CAFile = Path(fileOf(refs, "forward.caBundle"))
		}
		cfg.Forward = fw
	}
	if tls := ps.Spec.TLS; tls != nil {
		cfg.TLS = &config.TLS{CertFile: Path("tls/tls.crt"), KeyFile: Path("tls/tls.key"), MinVersion: tls.MinVersion}
	}
	if th := ps.Spec.Throttle; th != nil {
		if th.PerSecond != nil {
			cfg.Throttle.PerSecond = float64(*th.PerSecond)
		}
		if th.Burst != nil {
			cfg.Throttle.Burst = int(*th.Burst)
		}
		cfg.Throttle.VaryByHeader = th.VaryByHeader
	}
	if ca := ps.Spec.CallerAuth; ca != nil {
		cfg.CallerAuth = config.CallerAuth{
			AllowedServerIDs: ca.AllowedServerIDs,
			TokenFile:        Path(fileOf(refs, "callerAuth.token")),
			ClientCAFile:     Path(fileOf(refs, "callerAuth.clientCA")),
		}
	}
	return cfg
}

func appConfig(app pushv1alpha1.PushApp, refs []CredentialRef) config.App {
	name := fmt.Sprintf("apps[%s]", app.Platform)
	caFile := Path(fileOf(refs, name+".caBundle"))
	out := config.App{Platform: app.Platform}
	switch {
	case app.APNs != nil:
		a := app.APNs
		out.Kind = config.AppKindApple
		out.APNs = &config.APNs{
			Topic:       a.Topic,
			Environment: config.APNsEnvironment(orDefault(string(a.Environment), string(config.APNsProduction))),
			VoIP:        a.VoIP,
			KeyID:       a.KeyID,
			TeamID:      a.TeamID,
			Endpoint:    a.Endpoint,
			CAFile:      caFile,
		}
		for _, r := range refs {
			if r.Name != name {
				continue
			}
			if r.Kind == pushv1alpha1.CredentialAPNsAuthKey {
				out.APNs.AuthKeyFile = Path(r.File)
			} else {
				out.APNs.CertificateFile = Path(r.File)
				out.APNs.CertificatePasswordFile = Path(r.PasswordFile)
			}
		}
	case app.FCM != nil:
		out.Kind = config.AppKindAndroid
		out.FCM = &config.FCM{
			ServiceAccountFile: Path(fileOf(refs, name)),
			Endpoint:           app.FCM.Endpoint,
			CAFile:             caFile,
		}
	}
	return out
}

func fileOf(refs []CredentialRef, name string) string {
	for _, r := range refs {
		if r.Name == name {
			return r.File
		}
	}
	return ""
}

// RenderConfig is the relay configuration file and a short hash of it for the pod
// template annotation.
func RenderConfig(cfg config.Config) (data []byte, hash string, err error) {
	data, err = yaml.Marshal(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("rendering the relay configuration: %w", err)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:8]), nil
}

// ConfigMap carries the rendered relay configuration.
func ConfigMap(ps *pushv1alpha1.PushService, data []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(ps, ConfigMapName(ps)),
		Data:       map[string]string{ConfigFileName: string(data)},
	}
}

func objectMeta(ps *pushv1alpha1.PushService, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ps.Namespace, Labels: Labels(ps)}
}
