// Package push holds the wire types of the Mattermost push proxy API (see
// shared push-api.md) and the Sender interface every delivery path implements.
package push

import "context"

// Notification is the chat server's PushNotification JSON. Unknown fields are ignored.
type Notification struct {
	AckID            string `json:"ack_id"`
	Platform         string `json:"platform"`
	ServerID         string `json:"server_id"`
	DeviceID         string `json:"device_id"`
	PostID           string `json:"post_id,omitempty"`
	Category         string `json:"category,omitempty"`
	Sound            string `json:"sound,omitempty"`
	Message          string `json:"message,omitempty"`
	Badge            int    `json:"badge,omitempty"`
	ContentAvailable int    `json:"cont_ava,omitempty"`
	TeamID           string `json:"team_id,omitempty"`
	ChannelID        string `json:"channel_id,omitempty"`
	RootID           string `json:"root_id,omitempty"`
	ChannelName      string `json:"channel_name,omitempty"`
	Type             string `json:"type,omitempty"`
	SubType          string `json:"sub_type,omitempty"`
	SenderID         string `json:"sender_id,omitempty"`
	SenderName       string `json:"sender_name,omitempty"`
	OverrideUsername string `json:"override_username,omitempty"`
	OverrideIconURL  string `json:"override_icon_url,omitempty"`
	FromWebhook      string `json:"from_webhook,omitempty"`
	Version          string `json:"version,omitempty"`
	IsCRTEnabled     bool   `json:"is_crt_enabled"`
	IsIDLoaded       bool   `json:"is_id_loaded"`
	Signature        string `json:"signature,omitempty"`
	// Transport "voip" asks for a PushKit (VoIP) push, as the chat server does for calls
	// ringing on iOS; empty is the standard path.
	Transport string `json:"transport,omitempty"`

	// AppVersion is the N of a "-vN" platform suffix (0 when absent); Platform holds the
	// name without the suffix once the request has been decoded.
	AppVersion int `json:"-"`
	// Raw is the request body as received, for the forward sender to relay unchanged.
	// Anything that changes the notification (the content policy) must clear it.
	Raw []byte `json:"-"`
}

// Notification types the chat server sends.
const (
	TypeMessage     = "message"
	TypeClear       = "clear"
	TypeUpdateBadge = "update_badge"
	TypeSession     = "session"
	TypeTest        = "test"
)

// TransportVoIP in Notification.Transport selects Apple's PushKit path.
const TransportVoIP = "voip"

// BadgeUnset in Notification.Badge means "do not set the badge".
const BadgeUnset = -1

// Ack is the mobile app's delivery acknowledgement (POST /api/v1/ack).
type Ack struct {
	ID         string `json:"id"`
	ReceivedAt int64  `json:"received_at"`
	Platform   string `json:"platform"`
	Type       string `json:"type"`
	PostID     string `json:"post_id,omitempty"`
	IsIDLoaded bool   `json:"is_id_loaded"`

	// Raw is the request body as received, for a forward sender to pass on unchanged.
	Raw []byte `json:"-"`
}

// Status is the answer the chat server acts on.
type Status string

const (
	// StatusOK: delivered to APNs/FCM (or the upstream answered OK).
	StatusOK Status = "OK"
	// StatusFail: not delivered; the chat server logs Error and keeps the device.
	StatusFail Status = "FAIL"
	// StatusRemove: the device token is dead; the chat server detaches the device.
	StatusRemove Status = "REMOVE"
)

// Response is the PushResponse JSON.
type Response struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Result is the outcome of one send.
type Result struct {
	Status Status
	// Reason explains a FAIL or REMOVE (e.g. "BadDeviceToken", "UNREGISTERED"); it becomes
	// the FAIL answer's error text and the metrics' reason label.
	Reason string
	// Tries is how many delivery attempts were made (1 when no retry was needed).
	Tries int
}

// Sender delivers notifications for one app (one platform name). Implementations retry
// transport errors and retryable upstream codes within ctx's deadline and never retry a
// definitive rejection. Send must be safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, n *Notification) Result
}

// Acker is a Sender that passes acks on to where its pushes went: a forward sender, whose
// upstream counts deliveries. forwarded is false when this sender keeps acks to itself.
type Acker interface {
	Ack(ctx context.Context, a *Ack) (res Result, forwarded bool)
}
