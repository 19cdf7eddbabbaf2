package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// FieldError is one invalid field: where it is and what to do about it.
type FieldError struct {
	// Path is the field's path in the YAML document, e.g. "apps[1].apns.topic".
	Path string
	// Problem says what is wrong and how to fix it.
	Problem string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Problem }

// platformName is what a push's platform field can carry before its "-vN" suffix. The
// official apps use names such as apple_rn and android_rnbeta.
var platformName = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// Validate checks a Config that has had its defaults applied. It reports every problem at
// once (errors.Join of *FieldError), so a user fixes a file in one round.
func (c *Config) Validate() error {
	v := &validator{}
	v.listen(c.Listen)
	if c.TLS != nil {
		v.tls(c.TLS)
	}
	if len(c.Apps) == 0 && c.Forward == nil {
		v.add("apps", "no app configured: add at least one app (apple, android or forward), or set forward to relay every push upstream")
	}
	seen := map[string]int{}
	for i := range c.Apps {
		v.app(fmt.Sprintf("apps[%d]", i), &c.Apps[i], seen, i)
	}
	if c.Forward != nil {
		v.forward("forward", c.Forward)
	}
	v.timeouts(c.Timeouts)
	v.throttle(c.Throttle)
	switch c.ContentPolicy {
	case ContentFull, ContentGeneric, ContentIDOnly:
	default:
		v.add("contentPolicy", "%q is not a content policy: use full, generic or id_only", c.ContentPolicy)
	}
	v.callerAuth(c.CallerAuth, c.TLS != nil)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", "%q is not a log level: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "plain":
	default:
		v.add("log.format", "%q is not a log format: use json or plain", c.Log.Format)
	}
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
}

func (v *validator) listen(addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		v.add("listen", "%q is not a listen address: use host:port or :port, e.g. \":8066\"", addr)
	}
}

func (v *validator) tls(t *TLS) {
	if t.CertFile == "" {
		v.add("tls.certFile", "required when tls is set: the PEM serving certificate (e.g. tls.crt of a kubernetes.io/tls Secret)")
	}
	if t.KeyFile == "" {
		v.add("tls.keyFile", "required when tls is set: the PEM private key (e.g. tls.key of a kubernetes.io/tls Secret)")
	}
	if t.MinVersion != "1.2" && t.MinVersion != "1.3" {
		v.add("tls.minVersion", "%q is not supported: use \"1.2\" or \"1.3\"", t.MinVersion)
	}
}

func (v *validator) app(path string, a *App, seen map[string]int, i int) {
	switch {
	case a.Platform == "":
		v.add(path+".platform", "required: the platform name the mobile app registers, e.g. apple_rn or android_rn")
	case versionSuffix.MatchString(a.Platform):
		v.add(path+".platform", "%q ends in an app version suffix: write the name without \"-vN\" (the relay strips it from pushes)", a.Platform)
	case !platformName.MatchString(a.Platform):
		v.add(path+".platform", "%q may contain only letters, digits, '_' and '.'", a.Platform)
	default:
		if j, dup := seen[a.Platform]; dup {
			v.add(path+".platform", "%q is already used by apps[%d]: each platform name maps to one app", a.Platform, j)
		}
		seen[a.Platform] = i
	}
	sections := []struct {
		kind AppKind
		name string
		set  bool
	}{{AppKindApple, "apns", a.APNs != nil}, {AppKindAndroid, "fcm", a.FCM != nil}, {AppKindForward, "forward", a.Forward != nil}}
	known := false
	for _, s := range sections {
		switch {
		case s.kind == a.Kind && !s.set:
			v.add(path+"."+s.name, "required for kind %s", a.Kind)
			return
		case s.kind == a.Kind:
			known = true
		case s.set:
			v.add(path+"."+s.name, "set on an app of kind %q: remove it or change kind to %s", a.Kind, s.kind)
		}
	}
	if !known {
		v.add(path+".kind", "%q is not an app kind: use apple, android or forward", a.Kind)
		return
	}
	switch a.Kind {
	case AppKindApple:
		v.apns(path+".apns", a.APNs)
	case AppKindAndroid:
		if a.FCM.ServiceAccountFile == "" {
			v.add(path+".fcm.serviceAccountFile", "required: the path of the Firebase service-account JSON")
		}
		v.url(path+".fcm.endpoint", a.FCM.Endpoint, false)
	case AppKindForward:
		v.forward(path+".forward", a.Forward)
	}
}

func (v *validator) apns(path string, a *APNs) {
	if a.Topic == "" {
		v.add(path+".topic", "required: the app's bundle ID, e.g. com.mattermost.rnbeta")
	}
	if a.Environment != APNsProduction && a.Environment != APNsDevelopment {
		v.add(path+".environment", "%q is not an APNs environment: use production (App Store/TestFlight builds) or development (debug builds)", a.Environment)
	}
	token := a.AuthKeyFile != "" || a.KeyID != "" || a.TeamID != ""
	cert := a.CertificateFile != "" || a.CertificatePasswordFile != ""
	switch {
	case token && cert:
		v.add(path, "both token auth (authKeyFile) and certificate auth (certificateFile) are set: keep one")
	case token:
		for _, f := range [][2]string{{"authKeyFile", a.AuthKeyFile}, {"keyID", a.KeyID}, {"teamID", a.TeamID}} {
			if f[1] == "" {
				v.add(path+"."+f[0], "required with token auth: authKeyFile (.p8), keyID and teamID go together")
			}
		}
	case cert:
		if a.CertificateFile == "" {
			v.add(path+".certificateFile", "required with certificatePasswordFile: the .p12 or PEM push certificate")
		}
	default:
		v.add(path, "no credentials: set authKeyFile+keyID+teamID (token auth, preferred) or certificateFile (certificate auth)")
	}
	v.url(path+".endpoint", a.Endpoint, false)
}

func (v *validator) forward(path string, f *Forward) {
	v.url(path+".upstreamURL", f.UpstreamURL, true)
}

func (v *validator) url(path, raw string, required bool) {
	if raw == "" {
		if required {
			v.add(path, "required: an absolute http(s) URL, e.g. https://push.mattermost.com")
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(path, "%q is not an absolute http(s) URL", raw)
	}
}

func (v *validator) timeouts(t Timeouts) {
	if t.PerTry <= 0 {
		v.add("timeouts.perTry", "must be positive, e.g. \"8s\"")
	}
	if t.Send <= 0 {
		v.add("timeouts.send", "must be positive, e.g. \"30s\"")
	}
	if t.PerTry > t.Send {
		v.add("timeouts.perTry", "%s exceeds timeouts.send %s: one try cannot outlast the whole send", t.PerTry.Std(), t.Send.Std())
	}
	if t.ShutdownDelay < 0 {
		v.add("timeouts.shutdownDelay", "must not be negative")
	}
}

func (v *validator) throttle(t Throttle) {
	if t.Enabled() && t.Burst < 1 {
		v.add("throttle.burst", "must be at least 1 while throttling is on")
	}
	if t.MaxCallers < 1 {
		v.add("throttle.maxCallers", "must be at least 1")
	}
	if strings.ContainsAny(t.VaryByHeader, " :\t") {
		v.add("throttle.varyByHeader", "%q is not a header name", t.VaryByHeader)
	}
}

func (v *validator) callerAuth(a CallerAuth, tlsOn bool) {
	for i, id := range a.AllowedServerIDs {
		if strings.TrimSpace(id) == "" {
			v.add(fmt.Sprintf("callerAuth.allowedServerIDs[%d]", i), "empty server ID: list the chat servers' telemetry IDs")
		}
	}
	if a.ClientCAFile != "" && !tlsOn {
		v.add("callerAuth.clientCAFile", "client certificates need HTTPS: set tls.certFile and tls.keyFile too")
	}
}

// versionSuffix matches the "-vN" app version suffix of a platform name.
var versionSuffix = regexp.MustCompile(`-v[0-9]+$`)
