package fcm

import (
	"maps"
	"testing"

	"github.com/pushops/push-operator/relay/push"
)

func TestDataFollowsTheContract(t *testing.T) {
	common := func(typ string, extra map[string]string) map[string]string {
		m := map[string]string{"ack_id": "ack1", "type": typ, "sub_type": "", "version": "v2", "channel_id": "ch1",
			"is_crt_enabled": "false", "server_id": "srv1", "category": "", "signature": "NO_SIGNATURE"}
		maps.Copy(m, extra)
		return m
	}
	full := func(n *push.Notification) {
		n.TeamID, n.SenderID, n.SenderName, n.Message, n.ChannelName = "team1", "user1", "alice", "hello", "Town Square"
		n.PostID, n.OverrideUsername, n.OverrideIconURL, n.FromWebhook = "post1", "bot", "https://i/x.png", "true"
	}
	messageKeys := map[string]string{"team_id": "team1", "sender_id": "user1", "sender_name": "alice", "message": "hello",
		"channel_name": "Town Square", "post_id": "post1", "override_username": "bot", "override_icon_url": "https://i/x.png", "from_webhook": "true"}
	cases := []struct {
		name string
		mod  func(*push.Notification)
		want map[string]string
	}{
		{"message", func(n *push.Notification) { n.Type, n.Badge = push.TypeMessage, 2; full(n) },
			common("message", with(messageKeys, map[string]string{"badge": "2"}))},
		{"session", func(n *push.Notification) { n.Type, n.Badge = push.TypeSession, push.BadgeUnset; full(n) },
			common("session", messageKeys)},
		{"collapsed thread reply", func(n *push.Notification) {
			n.Type, n.Badge, n.RootID, n.IsCRTEnabled, n.SubType, n.Signature = push.TypeMessage, 1, "root1", true, "calls", "sig"
			full(n)
		}, common("message", with(messageKeys, map[string]string{"badge": "1", "root_id": "root1", "is_crt_enabled": "true", "sub_type": "calls", "signature": "sig"}))},
		{"id-loaded: no names or text beyond the placeholder", func(n *push.Notification) {
			n.Type, n.IsIDLoaded, n.Badge = push.TypeMessage, true, 1
			full(n)
			n.Message = "You have a new message"
		}, common("message", map[string]string{"badge": "1", "post_id": "post1", "message": "You have a new message",
			"id_loaded": "true", "sender_id": "user1", "sender_name": "Someone", "team_id": "team1"})},
		{"clear", func(n *push.Notification) { n.Type, n.Badge = push.TypeClear, 0; full(n) },
			common("clear", map[string]string{"badge": "0"})},
		{"test with badge -1", func(n *push.Notification) { n.Type, n.Badge = push.TypeTest, push.BadgeUnset },
			common("test", nil)},
		{"update_badge", func(n *push.Notification) { n.Type, n.Badge = push.TypeUpdateBadge, 7 },
			common("update_badge", map[string]string{"badge": "7"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &push.Notification{AckID: "ack1", ServerID: "srv1", DeviceID: "tok", ChannelID: "ch1", Version: "v2"}
			tc.mod(n)
			msg := Message(n)
			if !maps.Equal(msg.Data, tc.want) {
				t.Errorf("data\n got %v\nwant %v", msg.Data, tc.want)
			}
			if msg.Token != "tok" || msg.Android == nil || msg.Android.Priority != "high" || msg.Notification != nil {
				t.Errorf("message token %q android %+v notification %+v: want a data-only high-priority message", msg.Token, msg.Android, msg.Notification)
			}
		})
	}
}

func with(a, b map[string]string) map[string]string {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}
