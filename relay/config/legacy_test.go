package config

import (
	"strings"
	"testing"
	"time"
)

// referenceSample is the reference push proxy's sample configuration with credentials
// filled in the way its deployment guide describes.
const referenceSample = `{
    "ListenAddress":":8067",
    "ThrottlePerSec":100,
    "ThrottleMemoryStoreSize":1000,
    "ThrottleVaryByHeader":"X-Forwarded-For",
    "EnableMetrics": true,
    "SendTimeoutSec": 20,
    "RetryTimeoutSec": 25,
    "ApplePushSettings":[
        {
            "Type":"apple",
            "ApplePushUseDevelopment":false,
            "ApplePushCertPrivate":"",
            "ApplePushCertPassword":"",
            "ApplePushTopic":"com.mattermost.Mattermost",
            "AppleAuthKeyFile": "",
            "AppleAuthKeyID": "",
            "AppleTeamID": ""
        },
        {
            "Type":"apple_rn",
            "ApplePushUseDevelopment":true,
            "ApplePushCertPrivate":"./config/aps_production_priv.pem",
            "ApplePushCertPassword":"s3cret",
            "ApplePushTopic":"com.example.rn"
        },
        {
            "Type":"apple_voip_rn",
            "ApplePushCertPrivate":"./config/ignored.pem",
            "ApplePushTopic":"com.example.rn",
            "AppleAuthKeyFile": "/keys/AuthKey.p8",
            "AppleAuthKeyID": "KEY123",
            "AppleTeamID": "TEAM123"
        }
    ],
    "AndroidPushSettings": [
        {"Type":"android", "AndroidApiKey":"AAAA-legacy"},
        {"Type":"android_rn", "ServiceFileLocation":"/keys/fcm.json"}
    ],
    "EnableConsoleLog": true,
    "EnableFileLog": false,
    "LogFileLocation": "",
    "LogFormat": "plain",
    "LogLevel": "debug"
}`

func TestLegacyConversion(t *testing.T) {
	f, err := Parse([]byte(referenceSample))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	if !f.Legacy {
		t.Fatal("not detected as legacy")
	}
	if c.Listen != ":8067" || c.Throttle.PerSecond != 100 || c.Throttle.MaxCallers != 1000 || c.Throttle.VaryByHeader != "X-Forwarded-For" {
		t.Errorf("listen/throttle: %+v %+v", c.Listen, c.Throttle)
	}
	if !c.MetricsEnabled() || c.Log.Format != "plain" || c.Log.Level != "debug" {
		t.Errorf("metrics/log: %v %+v", c.MetricsEnabled(), c.Log)
	}
	// RetryTimeoutSec above SendTimeoutSec is clamped, as the reference does.
	if c.Timeouts.Send.Std() != 20*time.Second || c.Timeouts.PerTry.Std() != 20*time.Second {
		t.Errorf("timeouts: %v %v", c.Timeouts.Send.Std(), c.Timeouts.PerTry.Std())
	}
	if len(c.Apps) != 3 {
		t.Fatalf("apps = %+v", c.Apps)
	}
	rn := c.Apps[0]
	if rn.Platform != "apple_rn" || rn.Kind != AppKindApple || rn.APNs.CertificateFile != "./config/aps_production_priv.pem" ||
		rn.APNs.CertificatePassword != "s3cret" || rn.APNs.Environment != APNsDevelopment || rn.APNs.Topic != "com.example.rn" || rn.APNs.VoIP {
		t.Errorf("apple_rn = %+v", *rn.APNs)
	}
	voip := c.Apps[1]
	if voip.APNs.AuthKeyFile != "/keys/AuthKey.p8" || voip.APNs.KeyID != "KEY123" || voip.APNs.TeamID != "TEAM123" ||
		voip.APNs.CertificateFile != "" || !voip.APNs.VoIP || voip.APNs.Environment != APNsProduction {
		t.Errorf("apple_voip_rn = %+v", *voip.APNs)
	}
	if a := c.Apps[2]; a.Platform != "android_rn" || a.Kind != AppKindAndroid || a.FCM.ServiceAccountFile != "/keys/fcm.json" {
		t.Errorf("android_rn = %+v", a)
	}
	warnings := strings.Join(f.Warnings, "\n")
	for _, w := range []string{"ApplePushSettings[0] (apple): no ApplePushCertPrivate", "AndroidPushSettings[0] (android): AndroidApiKey is a legacy FCM server key"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings %q lack %q", warnings, w)
		}
	}
}

func TestLegacyDefaults(t *testing.T) {
	f, err := Parse([]byte(`{"AndroidPushSettings":[{"Type":"android_rn","ServiceFileLocation":"/f.json"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	if c.Listen != ":8066" || c.Throttle.PerSecond != 300 || c.Timeouts.Send != DefaultSend || c.Timeouts.PerTry != DefaultPerTry {
		t.Errorf("defaults not applied: %+v", c)
	}
	// The reference's EnableMetrics defaults to false; a converted file keeps that.
	if c.MetricsEnabled() {
		t.Error("metrics enabled without EnableMetrics")
	}
}

func TestLegacyWithoutCredentialsFails(t *testing.T) {
	_, err := Parse([]byte(`{"ListenAddress":":8066","ApplePushSettings":[{"Type":"apple","ApplePushTopic":"t"}]}`))
	if err == nil || !strings.Contains(err.Error(), "converted from mattermost-push-proxy.json") || !strings.Contains(err.Error(), "no app configured") {
		t.Fatalf("err = %v", err)
	}
}
