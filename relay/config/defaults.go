package config

import (
	"math"
	"time"
)

// Defaults, the reference push proxy's where it has one.
const (
	DefaultListen            = ":8066"
	DefaultPerTry            = Duration(8 * time.Second)
	DefaultSend              = Duration(30 * time.Second)
	DefaultShutdownDelay     = Duration(5 * time.Second)
	DefaultThrottlePerSecond = 300
	DefaultMaxCallers        = 50000
	DefaultContentPolicy     = ContentFull
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "json"
	DefaultTLSMinVersion     = "1.2"
	DefaultAPNsEnvironment   = APNsProduction
)

// ApplyDefaults fills every unset field with its default. It is idempotent, and Load
// calls it before Validate, so code reading a loaded Config never sees a zero value that
// means "default".
func (c *Config) ApplyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.TLS != nil && c.TLS.MinVersion == "" {
		c.TLS.MinVersion = DefaultTLSMinVersion
	}
	for i := range c.Apps {
		if a := c.Apps[i].APNs; a != nil && a.Environment == "" {
			a.Environment = DefaultAPNsEnvironment
		}
	}
	c.Timeouts.applyDefaults()
	c.Throttle.applyDefaults()
	if c.ContentPolicy == "" {
		c.ContentPolicy = DefaultContentPolicy
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
	if c.Metrics.Enabled == nil {
		on := true
		c.Metrics.Enabled = &on
	}
}

func (t *Timeouts) applyDefaults() {
	if t.PerTry == 0 {
		t.PerTry = DefaultPerTry
	}
	if t.Send == 0 {
		t.Send = DefaultSend
	}
	if t.ShutdownDelay == 0 {
		t.ShutdownDelay = DefaultShutdownDelay
	}
}

func (t *Throttle) applyDefaults() {
	if t.PerSecond == 0 {
		t.PerSecond = DefaultThrottlePerSecond
	}
	if t.Burst == 0 && t.PerSecond > 0 {
		t.Burst = int(math.Ceil(t.PerSecond))
	}
	if t.MaxCallers == 0 {
		t.MaxCallers = DefaultMaxCallers
	}
}

// Enabled reports whether per-caller throttling is on (a negative PerSecond turns it off).
func (t Throttle) Enabled() bool { return t.PerSecond > 0 }

// MetricsEnabled reports whether /metrics is served (default true).
func (c *Config) MetricsEnabled() bool { return c.Metrics.Enabled == nil || *c.Metrics.Enabled }

// Enabled reports whether any caller check is configured.
func (a CallerAuth) Enabled() bool {
	return len(a.AllowedServerIDs) > 0 || a.TokenFile != "" || a.ClientCAFile != ""
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
