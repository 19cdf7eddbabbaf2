// Package fcm delivers pushes to Firebase Cloud Messaging HTTP v1 with the firebase Admin
// SDK: a data-only message carrying the keys the Mattermost Android app reads
// (push-api.md), retries of retryable errors, and REMOVE for dead registrations.
package fcm

import (
	"strconv"

	"firebase.google.com/go/v4/messaging"

	"github.com/pushops/push-operator/relay/push"
)

// idLoadedSender is the sender name the app shows until it fetched the real message.
const idLoadedSender = "Someone"

// Message builds the data-only FCM message for n.
func Message(n *push.Notification) *messaging.Message {
	return &messaging.Message{
		Token:   n.DeviceID,
		Data:    Data(n),
		Android: &messaging.AndroidConfig{Priority: "high"},
	}
}

// Data is the message's data map, every value a string as FCM requires.
func Data(n *push.Notification) map[string]string {
	d := map[string]string{
		"ack_id":         n.AckID,
		"type":           n.Type,
		"sub_type":       n.SubType,
		"version":        n.Version,
		"channel_id":     n.ChannelID,
		"is_crt_enabled": strconv.FormatBool(n.IsCRTEnabled),
		"server_id":      n.ServerID,
		"category":       n.Category,
		"signature":      n.Signature,
	}
	if n.Signature == "" {
		d["signature"] = "NO_SIGNATURE"
	}
	if n.Badge != push.BadgeUnset {
		d["badge"] = strconv.Itoa(n.Badge)
	}
	if n.RootID != "" {
		d["root_id"] = n.RootID
	}
	switch {
	case n.IsIDLoaded:
		d["post_id"] = n.PostID
		d["message"] = n.Message
		d["id_loaded"] = "true"
		d["sender_id"] = n.SenderID
		d["sender_name"] = idLoadedSender
		d["team_id"] = n.TeamID
	case n.Type == push.TypeMessage || n.Type == push.TypeSession:
		d["team_id"] = n.TeamID
		d["sender_id"] = n.SenderID
		d["sender_name"] = n.SenderName
		d["message"] = n.Message
		d["channel_name"] = n.ChannelName
		d["post_id"] = n.PostID
		d["override_username"] = n.OverrideUsername
		d["override_icon_url"] = n.OverrideIconURL
		d["from_webhook"] = n.FromWebhook
	}
	return d
}
