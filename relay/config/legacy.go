package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// legacyFile is the reference push proxy's mattermost-push-proxy.json. Only the settings
// the relay has an equivalent for are read; the rest (log file settings, WebPushSettings)
// produce a warning when set.
type legacyFile struct {
	ListenAddress           string
	ThrottlePerSec          int
	ThrottleMemoryStoreSize int
	ThrottleVaryByHeader    string
	EnableMetrics           bool
	SendTimeoutSec          int
	RetryTimeoutSec         int
	ApplePushSettings       []legacyApple
	AndroidPushSettings     []legacyAndroid
	LogFormat               string
	LogLevel                string
	EnableFileLog           bool
	WebPushSettings         json.RawMessage
}

type legacyApple struct {
	Type                    string
	ApplePushUseDevelopment bool
	ApplePushCertPrivate    string
	ApplePushCertPassword   string
	ApplePushTopic          string
	AppleAuthKeyFile        string
	AppleAuthKeyID          string
	AppleTeamID             string
}

type legacyAndroid struct {
	Type                string
	AndroidAPIKey       string `json:"AndroidApiKey"`
	ServiceFileLocation string
}

// convertLegacy maps a mattermost-push-proxy.json onto Config. Apps the reference would
// skip at start (no credentials set) are skipped with a warning, as the reference does,
// so its shipped sample file converts; apps whose credential files fail to load keep the
// relay unready instead (the reference's silent skip is one of its weaknesses).
func convertLegacy(asJSON []byte) (*Config, []string, error) {
	var l legacyFile
	if err := json.Unmarshal(asJSON, &l); err != nil {
		return nil, nil, err
	}
	var warn []string
	warnf := func(format string, args ...any) { warn = append(warn, fmt.Sprintf(format, args...)) }

	c := &Config{
		Listen: l.ListenAddress,
		Throttle: Throttle{
			PerSecond:    float64(l.ThrottlePerSec),
			MaxCallers:   l.ThrottleMemoryStoreSize,
			VaryByHeader: strings.TrimSpace(l.ThrottleVaryByHeader),
		},
		Timeouts: Timeouts{
			Send:   Duration(time.Duration(l.SendTimeoutSec) * time.Second),
			PerTry: Duration(time.Duration(l.RetryTimeoutSec) * time.Second),
		},
		Log:     Log{Level: legacyLogLevel(l.LogLevel), Format: strings.ToLower(l.LogFormat)},
		Metrics: Metrics{Enabled: &l.EnableMetrics},
	}
	c.Timeouts.applyDefaults()
	if c.Timeouts.PerTry > c.Timeouts.Send { // the reference clamps rather than refuses
		c.Timeouts.PerTry = c.Timeouts.Send
	}
	for i, a := range l.ApplePushSettings {
		app, ok := convertApple(a)
		if !ok {
			warnf("ApplePushSettings[%d] (%s): no ApplePushCertPrivate or AppleAuthKeyFile set; app skipped", i, a.Type)
			continue
		}
		c.Apps = append(c.Apps, app)
	}
	for i, a := range l.AndroidPushSettings {
		if a.ServiceFileLocation == "" {
			if a.AndroidAPIKey != "" {
				warnf("AndroidPushSettings[%d] (%s): AndroidApiKey is a legacy FCM server key, which Google no longer accepts; set ServiceFileLocation to a service-account JSON. App skipped", i, a.Type)
			} else {
				warnf("AndroidPushSettings[%d] (%s): no ServiceFileLocation set; app skipped", i, a.Type)
			}
			continue
		}
		c.Apps = append(c.Apps, App{Platform: a.Type, Kind: AppKindAndroid, FCM: &FCM{ServiceAccountFile: a.ServiceFileLocation}})
	}
	if l.EnableFileLog {
		warnf("EnableFileLog: the relay logs to stderr only; file logging ignored")
	}
	if len(l.WebPushSettings) > 0 && string(l.WebPushSettings) != "null" && string(l.WebPushSettings) != "[]" {
		warnf("WebPushSettings: web push is not supported by the relay; ignored")
	}
	return c, warn, nil
}

func convertApple(a legacyApple) (App, bool) {
	apns := &APNs{Topic: a.ApplePushTopic, Environment: APNsProduction}
	if a.ApplePushUseDevelopment {
		apns.Environment = APNsDevelopment
	}
	switch {
	case a.AppleAuthKeyFile != "": // the reference prefers token auth when both are set
		apns.AuthKeyFile, apns.KeyID, apns.TeamID = a.AppleAuthKeyFile, a.AppleAuthKeyID, a.AppleTeamID
	case a.ApplePushCertPrivate != "":
		apns.CertificateFile, apns.CertificatePassword = a.ApplePushCertPrivate, a.ApplePushCertPassword
	default:
		return App{}, false
	}
	// A legacy file has no VoIP flag; the official VoIP platform is named apple_voip_rn.
	apns.VoIP = strings.Contains(a.Type, "voip")
	return App{Platform: a.Type, Kind: AppKindApple, APNs: apns}, true
}

// legacyLogLevel maps the reference's log levels onto ours; unknown values pass through
// for Validate to report.
func legacyLogLevel(level string) string {
	switch l := strings.ToLower(level); l {
	case "trace":
		return "debug"
	case "warning":
		return "warn"
	case "critical", "fatal", "panic", "crit":
		return "error"
	default:
		return l
	}
}
