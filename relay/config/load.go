package config

import (
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// File is a loaded configuration file: the Config with defaults applied and validated, and
// what the loader has to tell the operator of the relay.
type File struct {
	Config *Config
	// Legacy is true when the file was a mattermost-push-proxy.json converted on load.
	Legacy bool
	// Warnings are settings of a legacy file that were skipped or changed on conversion;
	// the relay logs them at start.
	Warnings []string
}

// Load reads the relay configuration at path (YAML, or an unchanged
// mattermost-push-proxy.json), applies defaults and validates it.
func Load(path string) (*Config, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	return f.Config, nil
}

// Read is Load that also reports whether the file was a legacy one and its conversion
// warnings.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading relay configuration: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("relay configuration %s: %w", path, err)
	}
	return f, nil
}

// Parse is Read on the file's contents.
func Parse(data []byte) (*File, error) {
	asJSON, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	f := &File{}
	if isLegacy(asJSON) {
		f.Legacy = true
		f.Config, f.Warnings, err = convertLegacy(asJSON)
		if err != nil {
			return nil, fmt.Errorf("converting mattermost-push-proxy.json: %w", err)
		}
	} else {
		f.Config = &Config{}
		// Strict: a misspelt field in a file the operator or a person wrote is a mistake to
		// report, not a setting to drop silently.
		if err := yaml.UnmarshalStrict(data, f.Config); err != nil {
			return nil, err
		}
	}
	f.Config.ApplyDefaults()
	if err := f.Config.Validate(); err != nil {
		if f.Legacy {
			return nil, fmt.Errorf("converted from mattermost-push-proxy.json: %w", err)
		}
		return nil, err
	}
	return f, nil
}

// legacyKeys are top-level keys only a mattermost-push-proxy.json has (its keys are
// capitalised; ours are lowerCamel).
var legacyKeys = []string{
	"ListenAddress", "ApplePushSettings", "AndroidPushSettings", "ThrottlePerSec",
	"ThrottleMemoryStoreSize", "ThrottleVaryByHeader", "EnableMetrics", "SendTimeoutSec",
	"RetryTimeoutSec", "LogFormat", "LogLevel", "EnableConsoleLog",
}

func isLegacy(asJSON []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(asJSON, &top) != nil {
		return false
	}
	for _, k := range legacyKeys {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}
