// Package apns delivers pushes to Apple Push Notification service with sideshow/apns2:
// token or certificate auth, the payload the Mattermost apps expect (push-api.md), retries
// of transport errors and retryable answers, and a guard against a sandbox/production
// mismatch turning every device into REMOVE.
package apns

import (
	"encoding/json"

	"github.com/sideshow/apns2"

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
	// VoIP sends every push as PushKit: topic "<bundle>.voip", push type voip. Without
	// it, a push whose transport is "voip" is sent that way (the chat server's calls).
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
	case form.VoIP || n.Transport == push.TransportVoIP:
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

// payloadJSON is the APNs payload the Mattermost apps read: the aps dictionary plus the
// custom keys of push-api.md. It is a struct rather than apns2's map-based payload builder
// because it is encoded once per push on the hot path: a struct encodes without sorting
// map keys or boxing every value. Keys the reference always sends have no omitempty.
type payloadJSON struct {
	APS          apsJSON `json:"aps"`
	Type         string  `json:"type"`
	SubType      string  `json:"sub_type"`
	ServerID     string  `json:"server_id"`
	IsCRTEnabled bool    `json:"is_crt_enabled"`
	Signature    string  `json:"signature"`
	// Version is sent (even empty) with message, session and id-loaded pushes only.
	Version  *string `json:"version,omitempty"`
	IDLoaded bool    `json:"id_loaded,omitempty"`

	ChannelID        string `json:"channel_id,omitempty"`
	ChannelName      string `json:"channel_name,omitempty"`
	AckID            string `json:"ack_id,omitempty"`
	TeamID           string `json:"team_id,omitempty"`
	SenderID         string `json:"sender_id,omitempty"`
	SenderName       string `json:"sender_name,omitempty"`
	PostID           string `json:"post_id,omitempty"`
	RootID           string `json:"root_id,omitempty"`
	OverrideUsername string `json:"override_username,omitempty"`
	OverrideIconURL  string `json:"override_icon_url,omitempty"`
	FromWebhook      string `json:"from_webhook,omitempty"`
}

type apsJSON struct {
	// Alert is the message text (a string), or title and body (*alertJSON).
	Alert            any    `json:"alert,omitempty"`
	Badge            *int   `json:"badge,omitempty"`
	Category         string `json:"category,omitempty"`
	ContentAvailable int    `json:"content-available,omitempty"`
	MutableContent   int    `json:"mutable-content,omitempty"`
	Sound            string `json:"sound,omitempty"`
	ThreadID         string `json:"thread-id,omitempty"`
}

type alertJSON struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

// Payload is the encoded APNs payload for n (apns2 sends a []byte payload as it is).
func Payload(n *push.Notification) []byte {
	p := payloadJSON{}
	if n.Badge != push.BadgeUnset {
		badge := n.Badge
		if n.Type == push.TypeClear && badge == 0 && n.AppVersion > 1 {
			badge = 1 // what the reference sends; newer apps recount the badge themselves
		}
		p.APS.Badge = &badge
	}
	switch {
	case n.IsIDLoaded:
		p.APS.Category, p.APS.Sound, p.APS.MutableContent, p.APS.ContentAvailable = n.Category, "default", 1, 1
		p.APS.Alert = &alertJSON{Body: n.Message}
		p.Version, p.IDLoaded = &n.Version, true
	case n.Type == push.TypeMessage || n.Type == push.TypeSession:
		p.APS.Category, p.APS.Sound, p.APS.MutableContent = n.Category, "default", 1
		p.Version = &n.Version
		if n.Type == push.TypeMessage {
			p.APS.ContentAvailable = 1
		}
		if n.Version == "v2" && n.ChannelName != "" {
			p.APS.Alert = &alertJSON{Title: n.ChannelName, Body: n.Message}
		} else {
			p.APS.Alert = n.Message
		}
		p.ChannelName = n.ChannelName
	case n.Type == push.TypeClear || n.Type == push.TypeTest:
		p.APS.ContentAvailable = 1
	}
	customKeys(&p, n)
	raw, err := json.Marshal(&p)
	if err != nil {
		panic("apns: encoding a payload of strings, ints and bools failed: " + err.Error())
	}
	return raw
}

func customKeys(p *payloadJSON, n *push.Notification) {
	p.Type, p.SubType, p.ServerID, p.IsCRTEnabled, p.Signature = n.Type, n.SubType, n.ServerID, n.IsCRTEnabled, n.Signature
	if p.Signature == "" {
		p.Signature = noSignature
	}
	if n.ChannelID != "" {
		p.ChannelID = n.ChannelID
		if n.IsCRTEnabled && n.RootID != "" {
			p.APS.ThreadID = n.RootID
		} else {
			p.APS.ThreadID = n.ChannelID
		}
	}
	p.AckID, p.TeamID, p.SenderID, p.SenderName = n.AckID, n.TeamID, n.SenderID, n.SenderName
	p.PostID, p.RootID, p.OverrideUsername, p.OverrideIconURL, p.FromWebhook = n.PostID, n.RootID, n.OverrideUsername, n.OverrideIconURL, n.FromWebhook
}
