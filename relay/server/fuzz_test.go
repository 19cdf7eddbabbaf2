package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeNotification feeds arbitrary bodies to the decoder and validator: they must
// never panic, and whatever they accept must respect the limits the relay promises
// downstream. Seeds live in testdata/fuzz/FuzzDecodeNotification.
func FuzzDecodeNotification(f *testing.F) {
	f.Add([]byte(`{"ack_id":"a","platform":"apple_rn-v2","server_id":"s","device_id":"d","badge":-1,"type":"test"}`))
	known := func(p string) bool { return p == "apple_rn" || p == "android_rn" }
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := decodeNotification(body)
		if err != nil {
			return
		}
		if len(n.Message) > MaxMessageBytes || len(n.ChannelName) > MaxChannelNameBytes {
			t.Fatalf("limits not applied: message %d bytes, channel name %d bytes", len(n.Message), len(n.ChannelName))
		}
		// Valid UTF-8 in (json.Unmarshal replaces invalid sequences) stays valid after cuts.
		if !utf8.ValidString(n.Message) || !utf8.ValidString(n.ChannelName) {
			t.Fatalf("truncation split a rune: %q / %q", n.Message, n.ChannelName)
		}
		if n.AppVersion < 0 {
			t.Fatalf("negative app version %d", n.AppVersion)
		}
		if err := validateNotification(n, known); err == nil {
			if n.ServerID == "" || n.DeviceID == "" || !known(n.Platform) {
				t.Fatalf("accepted an invalid push: %+v", n)
			}
		} else if !strings.HasPrefix(err.Error(), "missing ") {
			t.Fatalf("unexpected validation error %q", err)
		}
	})
}
