package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitAppVersion(t *testing.T) {
	cases := []struct {
		in       string
		platform string
		version  int
	}{
		{"apple_rn-v2", "apple_rn", 2},
		{"android_rn-v2", "android_rn", 2},
		{"apple_rnbeta-v12", "apple_rnbeta", 12},
		{"apple", "apple", 0},
		{"apple-v", "apple-v", 0},
		{"apple-vx", "apple-vx", 0},
		{"apple-v2x", "apple-v2x", 0},
		{"apple-v-2", "apple-v-2", 0},
		{"a-v1-v3", "a-v1", 3},
		{"-v7", "", 7},
		{"apple-v99999999999999999999999", "apple-v99999999999999999999999", 0},
	}
	for _, tc := range cases {
		p, v := splitAppVersion(tc.in)
		if p != tc.platform || v != tc.version {
			t.Errorf("splitAppVersion(%q) = %q, %d; want %q, %d", tc.in, p, v, tc.platform, tc.version)
		}
	}
}

func TestTruncateOnRuneBoundaries(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "hello", 10, "hello"},
		{"exact", "hello", 5, "hello"},
		{"ascii", "hello world", 5, "hello"},
		{"two-byte rune kept whole", "aé", 2, "a"},   // é is 2 bytes
		{"three-byte rune", "ab€", 4, "ab"},          // € is 3 bytes
		{"four-byte rune", "a😀b", 4, "a"},            // 😀 is 4 bytes
		{"four-byte rune fits", "a😀b", 5, "a😀"},      //
		{"cut just before a rune", "abc€", 3, "abc"}, //
		{"invalid utf-8 is cut at the limit", "\x80\x80\x80\x80\x80\x80", 5, "\x80\x80\x80\x80\x80"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := truncate(tc.in, tc.max); got != tc.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestDecodeNotification(t *testing.T) {
	long := strings.Repeat("€", 1000) // 3000 bytes
	body := `{"ack_id":"a1","platform":"apple_rn-v2","server_id":"s1","device_id":"tok","badge":-1,"type":"test",
		"message":"` + long + `","channel_name":"` + strings.Repeat("ü", 40) + `","some_future_field":{"x":1},"is_crt_enabled":true}`
	n, err := decodeNotification([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if n.Platform != "apple_rn" || n.AppVersion != 2 || n.Badge != -1 || n.Type != "test" || !n.IsCRTEnabled || n.AckID != "a1" {
		t.Errorf("decoded %+v", n)
	}
	if len(n.Message) != 2046-2046%3 || !utf8.ValidString(n.Message) {
		t.Errorf("message: %d bytes, valid=%v", len(n.Message), utf8.ValidString(n.Message))
	}
	if len(n.ChannelName) != 64 || !utf8.ValidString(n.ChannelName) {
		t.Errorf("channel name: %d bytes", len(n.ChannelName))
	}
	if n.Raw != nil {
		t.Error("Raw kept although the message was truncated")
	}

	short, err := decodeNotification([]byte(`{"platform":"android","server_id":"s","device_id":"d","message":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(short.Raw) != `{"platform":"android","server_id":"s","device_id":"d","message":"hi"}` {
		t.Errorf("Raw = %q", short.Raw)
	}
}

func TestDecodeNotificationRejectsBadJSON(t *testing.T) {
	for _, body := range []string{``, `{`, `[]`, `{"badge":"x"}`, `{"platform":5}`, `null x`} {
		if _, err := decodeNotification([]byte(body)); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
}

func TestValidateNotification(t *testing.T) {
	known := func(p string) bool { return p == "apple_rn" }
	cases := []struct {
		name, body, want string
	}{
		{"ok", `{"platform":"apple_rn-v2","server_id":"s","device_id":"d"}`, ""},
		{"missing server_id", `{"platform":"apple_rn","device_id":"d"}`, "missing server_id"},
		{"missing device_id", `{"platform":"apple_rn","server_id":"s"}`, "missing device_id (server_id=s)"},
		{"missing platform", `{"server_id":"s","device_id":"d"}`, "missing platform: the push names no platform"},
		{"unknown platform", `{"platform":"blackberry-v3","server_id":"s","device_id":"d"}`, `missing platform: no app is configured for platform "blackberry"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := decodeNotification([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			err = validateNotification(n, known)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeAck(t *testing.T) {
	cases := []struct {
		body, want string
	}{
		{`{"id":"a","platform":"android_rn-v2","type":"message","received_at":1}`, ""},
		{`{"platform":"android_rn","type":"message"}`, "missing id"},
		{`{"id":"a","type":"message"}`, "missing platform"},
		{`{"id":"a","platform":"android_rn"}`, "missing type"},
		{`{"id":`, "failed to decode"},
	}
	for _, tc := range cases {
		a, err := decodeAck([]byte(tc.body))
		switch {
		case tc.want == "" && (err != nil || a.Platform != "android_rn"):
			t.Errorf("%s: %v %+v", tc.body, err, a)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.body, err, tc.want)
		}
	}
}

func TestTruncateToken(t *testing.T) {
	if got := truncateToken("abcdef0123456789"); got != "abcdef…" {
		t.Errorf("got %q", got)
	}
	if got := truncateToken("abc"); got != "abc" {
		t.Errorf("got %q", got)
	}
}
