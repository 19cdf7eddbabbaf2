package apns

import (
	"encoding/json"
	"testing"

	"github.com/sideshow/apns2"

	"github.com/pushops/push-operator/relay/push"
)

// base is a message push as a Mattermost server sends it (without the per-case fields).
func base(mod func(*push.Notification)) *push.Notification {
	n := &push.Notification{ServerID: "srv1", DeviceID: "devtoken", Platform: "apple_rn", AckID: "ack1"}
	mod(n)
	return n
}

func TestPayloadFollowsTheContract(t *testing.T) {
	always := func(extra map[string]any) map[string]any {
		m := map[string]any{"type": "", "sub_type": "", "server_id": "srv1", "is_crt_enabled": false, "signature": "NO_SIGNATURE", "ack_id": "ack1"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		n    *push.Notification
		want map[string]any
	}{{
		name: "message v1: alert is the message text",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge, n.Category, n.Message = push.TypeMessage, 3, "CAN_REPLY", "hello"
			n.ChannelID, n.ChannelName, n.PostID, n.TeamID = "ch1", "Town Square", "post1", "team1"
			n.SenderID, n.SenderName, n.SubType = "user1", "alice", "calls"
		}),
		want: always(map[string]any{
			"aps": map[string]any{"alert": "hello", "badge": 3.0, "category": "CAN_REPLY", "sound": "default",
				"mutable-content": 1.0, "content-available": 1.0, "thread-id": "ch1"},
			"type": "message", "sub_type": "calls", "version": "", "channel_id": "ch1", "channel_name": "Town Square",
			"post_id": "post1", "team_id": "team1", "sender_id": "user1", "sender_name": "alice",
		}),
	}, {
		name: "message v2 with channel name: title and body",
		n: base(func(n *push.Notification) {
			n.Type, n.Version, n.Message, n.ChannelName, n.ChannelID = push.TypeMessage, "v2", "hello", "Town Square", "ch1"
			n.Signature, n.OverrideUsername, n.OverrideIconURL, n.FromWebhook = "sig", "bot", "https://i/x.png", "true"
		}),
		want: always(map[string]any{
			"aps": map[string]any{"alert": map[string]any{"title": "Town Square", "body": "hello"}, "badge": 0.0,
				"sound": "default", "mutable-content": 1.0, "content-available": 1.0, "thread-id": "ch1"},
			"type": "message", "version": "v2", "channel_id": "ch1", "channel_name": "Town Square", "signature": "sig",
			"override_username": "bot", "override_icon_url": "https://i/x.png", "from_webhook": "true",
		}),
	}, {
		name: "collapsed threads: thread-id is the root post",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge, n.Message, n.ChannelID, n.RootID, n.IsCRTEnabled = push.TypeMessage, push.BadgeUnset, "re", "ch1", "root1", true
		}),
		want: always(map[string]any{
			"aps":  map[string]any{"alert": "re", "sound": "default", "mutable-content": 1.0, "content-available": 1.0, "thread-id": "root1"},
			"type": "message", "version": "", "channel_id": "ch1", "root_id": "root1", "is_crt_enabled": true,
		}),
	}, {
		name: "root without collapsed threads: thread-id stays the channel",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge, n.Message, n.ChannelID, n.RootID = push.TypeMessage, push.BadgeUnset, "re", "ch1", "root1"
		}),
		want: always(map[string]any{
			"aps":  map[string]any{"alert": "re", "sound": "default", "mutable-content": 1.0, "content-available": 1.0, "thread-id": "ch1"},
			"type": "message", "version": "", "channel_id": "ch1", "root_id": "root1",
		}),
	}, {
		name: "session: alert without content-available",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge, n.Message = push.TypeSession, push.BadgeUnset, "session expired"
		}),
		want: always(map[string]any{
			"aps":  map[string]any{"alert": "session expired", "sound": "default", "mutable-content": 1.0},
			"type": "session", "version": "",
		}),
	}, {
		name: "id-loaded: body only, the app fetches the rest",
		n: base(func(n *push.Notification) {
			n.Type, n.IsIDLoaded, n.Badge, n.Message, n.Category, n.Version = push.TypeMessage, true, 1, "You have a new message", "CAN_REPLY", "v2"
			n.PostID, n.ChannelID, n.ChannelName = "post1", "ch1", "Secret Room"
		}),
		want: always(map[string]any{
			"aps": map[string]any{"alert": map[string]any{"body": "You have a new message"}, "badge": 1.0, "category": "CAN_REPLY",
				"sound": "default", "mutable-content": 1.0, "content-available": 1.0, "thread-id": "ch1"},
			"type": "message", "version": "v2", "id_loaded": true, "post_id": "post1", "channel_id": "ch1",
		}),
	}, {
		name: "clear: content-available and the badge",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge, n.ChannelID = push.TypeClear, 2, "ch1"
		}),
		want: always(map[string]any{
			"aps":  map[string]any{"badge": 2.0, "content-available": 1.0, "thread-id": "ch1"},
			"type": "clear", "channel_id": "ch1",
		}),
	}, {
		name: "clear to zero from an app version above 1 sends badge 1",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge, n.AppVersion = push.TypeClear, 0, 2
		}),
		want: always(map[string]any{"aps": map[string]any{"badge": 1.0, "content-available": 1.0}, "type": "clear"}),
	}, {
		name: "clear to zero from an unversioned app keeps 0",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge = push.TypeClear, 0
		}),
		want: always(map[string]any{"aps": map[string]any{"badge": 0.0, "content-available": 1.0}, "type": "clear"}),
	}, {
		name: "test push with badge -1: no badge at all",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge, n.AckID = push.TypeTest, push.BadgeUnset, ""
		}),
		want: map[string]any{"aps": map[string]any{"content-available": 1.0}, "type": "test", "sub_type": "",
			"server_id": "srv1", "is_crt_enabled": false, "signature": "NO_SIGNATURE"},
	}, {
		name: "update_badge: only the badge",
		n: base(func(n *push.Notification) {
			n.Type, n.Badge = push.TypeUpdateBadge, 5
		}),
		want: always(map[string]any{"aps": map[string]any{"badge": 5.0}, "type": "update_badge"}),
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := Payload(tc.n)
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			wantRaw, _ := json.Marshal(tc.want)
			gotRaw, _ := json.Marshal(got)
			if string(gotRaw) != string(wantRaw) {
				t.Errorf("payload\n got %s\nwant %s", gotRaw, wantRaw)
			}
		})
	}
}

func TestNotificationHeaders(t *testing.T) {
	msg := base(func(n *push.Notification) { n.Type = push.TypeMessage })
	clear := base(func(n *push.Notification) { n.Type = push.TypeClear })
	voip := base(func(n *push.Notification) {
		n.Type, n.SubType, n.Transport = push.TypeMessage, "calls", push.TransportVoIP
	})
	cases := []struct {
		name     string
		n        *push.Notification
		form     Form
		topic    string
		pushType apns2.EPushType
		priority int
	}{
		{"alert by default", msg, Form{Topic: "com.x"}, "com.x", apns2.PushTypeAlert, 10},
		{"clear stays alert by default (as the reference)", clear, Form{Topic: "com.x"}, "com.x", apns2.PushTypeAlert, 10},
		{"background form for content-available-only", clear, Form{Topic: "com.x", Background: true}, "com.x", apns2.PushTypeBackground, 5},
		{"background form leaves messages alone", msg, Form{Topic: "com.x", Background: true}, "com.x", apns2.PushTypeAlert, 10},
		{"VoIP topic and push type", msg, Form{Topic: "com.x", VoIP: true}, "com.x.voip", apns2.PushTypeVOIP, 10},
		{"transport voip from the chat server (calls)", voip, Form{Topic: "com.x"}, "com.x.voip", apns2.PushTypeVOIP, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			note := Notification(tc.n, tc.form)
			if note.Topic != tc.topic || note.PushType != tc.pushType || note.Priority != tc.priority || note.DeviceToken != "devtoken" {
				t.Errorf("got topic %q type %q priority %d token %q; want %q %q %d devtoken",
					note.Topic, note.PushType, note.Priority, note.DeviceToken, tc.topic, tc.pushType, tc.priority)
			}
		})
	}
}
