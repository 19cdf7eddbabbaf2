// Package apns delivers pushes to Apple Push Notification service with sideshow/apns2:
// token or certificate auth, the payload the Mattermost apps expect (push-api.md), retries
// of transport errors and retryable answers, and a guard against a sandbox/production
// mismatch turning every device into REMOVE.
package apns

import (
	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/payload"

	"github.com/pushops/push-operator/relay/push"
)

// noSignature is what the apps expect when the server sent no signature.
const noSignature = "NO_SIGNATURE"

// Priorities Apple defines: immediate delivery, and power-considerate for background pushes.
const (
	priorityHigh       = apns2.PriorityHigh
	priorityBackground = apns2.PriorityLow
)

// Form says how the apns2 notification is addressed.
type Form struct {
	// Topic is the app's bundle ID.
	Topic string
	// VoIP sends a PushKit push: topic "<bundle>.voip", push type voip.
	VoIP bool
	// Background sends content-available-only pushes (clear, test) as Apple documents
	// them: push type background, priority 5. Off: push type alert, priority 10, as the
	// reference does and the apps are used to.
	Background bool
}

// Notification builds the apns2 notification for n: the headers from form and the
// payload exactly as the Mattermost apps read it.
func Notification(n *push.Notification, form Form) *apns2.Notification {
	note := &apns2.Notification{
		DeviceToken: n.DeviceID,
		Topic:       form.Topic,
		Priority:    priorityHigh,
		PushType:    apns2.PushTypeAlert,
		Payload:     Payload(n),
	}
	switch {
	case form.VoIP:
		note.Topic = form.Topic + ".voip"
		note.PushType = apns2.PushTypeVOIP
	case form.Background && contentAvailableOnly(n):
		note.PushType = apns2.PushTypeBackground
		note.Priority = priorityBackground
	}
	return note
}

func contentAvailableOnly(n *push.Notification) bool {
	return !n.IsIDLoaded && (n.Type == push.TypeClear || n.Type == push.TypeTest)
}

// Payload is the aps dictionary plus the custom keys of push-api.md.
func Payload(n *push.Notification) *payload.Payload {
	p := payload.NewPayload()
	if n.Badge != push.BadgeUnset {
		badge := n.Badge
		if n.Type == push.TypeClear && badge == 0 && n.AppVersion > 1 {
			badge = 1 // what the reference sends; newer apps recount the badge themselves
		}
		p.Badge(badge)
	}
	switch {
	case n.IsIDLoaded:
		p.Category(n.Category).Sound("default").Custom("version", n.Version).
			Custom("id_loaded", true).MutableContent().AlertBody(n.Message).ContentAvailable()
	case n.Type == push.TypeMessage || n.Type == push.TypeSession:
		p.Category(n.Category).Sound("default").MutableContent().Custom("version", n.Version)
		if n.Type == push.TypeMessage {
			p.ContentAvailable()
		}
		if n.Version == "v2" && n.ChannelName != "" {
			p.AlertTitle(n.ChannelName).AlertBody(n.Message)
		} else {
			p.Alert(n.Message)
		}
		if n.ChannelName != "" {
			p.Custom("channel_name", n.ChannelName)
		}
	case n.Type == push.TypeClear || n.Type == push.TypeTest:
		p.ContentAvailable()
	}
	customKeys(p, n)
	return p
}

func customKeys(p *payload.Payload, n *push.Notification) {
	signature := n.Signature
	if signature == "" {
		signature = noSignature
	}
	p.Custom("type", n.Type).Custom("sub_type", n.SubType).Custom("server_id", n.ServerID).
		Custom("is_crt_enabled", n.IsCRTEnabled).Custom("signature", signature)
	if n.ChannelID != "" {
		p.Custom("channel_id", n.ChannelID)
		if n.IsCRTEnabled && n.RootID != "" {
			p.ThreadID(n.RootID)
		} else {
			p.ThreadID(n.ChannelID)
		}
	}
	for _, kv := range []struct{ key, val string }{
		{"ack_id", n.AckID},
		{"team_id", n.TeamID},
		{"sender_id", n.SenderID},
		{"sender_name", n.SenderName},
		{"post_id", n.PostID},
		{"root_id", n.RootID},
		{"override_username", n.OverrideUsername},
		{"override_icon_url", n.OverrideIconURL},
		{"from_webhook", n.FromWebhook},
	} {
		if kv.val != "" {
			p.Custom(kv.key, kv.val)
		}
	}
}
