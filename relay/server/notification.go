package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pushops/push-operator/relay/push"
)

// Limits the relay applies to every push before it leaves (the reference's numbers).
const (
	MaxMessageBytes     = 2046
	MaxChannelNameBytes = 64
)

// decodeNotification reads a PushNotification body and normalises it: the platform's
// "-vN" app version suffix moves into AppVersion, and message and channel name are cut
// to their limits on UTF-8 rune boundaries. Unknown fields are ignored (newer chat servers
// add some). Raw keeps the body for the forward sender.
func decodeNotification(body []byte) (*push.Notification, error) {
	n := &push.Notification{}
	if err := json.Unmarshal(body, n); err != nil {
		return nil, fmt.Errorf("failed to decode the push notification JSON: %w", err)
	}
	n.Raw = body
	n.Platform, n.AppVersion = splitAppVersion(n.Platform)
	if m := truncate(n.Message, MaxMessageBytes); m != n.Message {
		n.Message, n.Raw = m, nil // the body no longer says what will be sent
	}
	if c := truncate(n.ChannelName, MaxChannelNameBytes); c != n.ChannelName {
		n.ChannelName, n.Raw = c, nil
	}
	return n, nil
}

// validateNotification applies the reference's checks, with messages a person can act on.
// known reports whether a platform has an app (or a forward) configured.
func validateNotification(n *push.Notification, known func(platform string) bool) error {
	switch {
	case n.ServerID == "":
		return errors.New("missing server_id: the chat server must send its server ID")
	case n.DeviceID == "":
		return fmt.Errorf("missing device_id (server_id=%s)", n.ServerID)
	case n.Platform == "":
		return fmt.Errorf("missing platform: the push names no platform (server_id=%s)", n.ServerID)
	case !known(n.Platform):
		return fmt.Errorf("missing platform: no app is configured for platform %q (server_id=%s)", n.Platform, n.ServerID)
	}
	return nil
}

// decodeAck reads and checks a PushNotificationAck body.
func decodeAck(body []byte) (*push.Ack, error) {
	a := &push.Ack{}
	if err := json.Unmarshal(body, a); err != nil {
		return nil, fmt.Errorf("failed to decode the ack JSON: %w", err)
	}
	a.Raw = body
	a.Platform, _ = splitAppVersion(a.Platform)
	switch {
	case a.ID == "":
		return nil, errors.New("missing id: the ack must carry the push's ack_id")
	case a.Platform == "":
		return nil, errors.New("missing platform in ack")
	case a.Type == "":
		return nil, errors.New("missing type in ack")
	}
	return a, nil
}

// splitAppVersion splits "apple_rn-v2" into "apple_rn" and 2. A platform without a
// well-formed suffix is returned whole with version 0.
func splitAppVersion(platform string) (string, int) {
	i := strings.LastIndex(platform, "-v")
	if i < 0 {
		return platform, 0
	}
	digits := platform[i+2:]
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return platform, 0
	}
	v, err := strconv.Atoi(digits)
	if err != nil { // absurdly large: not a version
		return platform, 0
	}
	return platform[:i], v
}

// truncate cuts s to at most max bytes without splitting a UTF-8 sequence (the reference
// cuts bytes, which can leave an invalid character at the end of a message).
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	// s[j] is the first byte left out; cutting before a rune's first byte keeps every
	// rune whole. A valid rune is at most UTFMax bytes, so look no further back than that.
	for j := max; j > max-utf8.UTFMax && j > 0; j-- {
		if utf8.RuneStart(s[j]) {
			return s[:j]
		}
	}
	return s[:max] // not UTF-8 here anyway
}

// truncateToken shortens a device token for logs: enough to correlate, too little to use.
func truncateToken(t string) string {
	if len(t) <= 6 {
		return t
	}
	return t[:6] + "…"
}
