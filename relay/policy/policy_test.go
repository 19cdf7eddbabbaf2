package policy

import (
	"reflect"
	"testing"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/push"
)

func fullMessage() push.Notification {
	return push.Notification{
		AckID: "ack", Platform: "apple_rn", ServerID: "srv", DeviceID: "tok", PostID: "post1",
		Type: push.TypeMessage, Message: "alice: the launch code is 1234", ChannelName: "Secret Project",
		SenderName: "alice", SenderID: "u1", ChannelID: "c1", TeamID: "t1", RootID: "r1",
		OverrideUsername: "bot", Badge: 3, Raw: []byte(`{"message":"alice: the launch code is 1234"}`),
	}
}

func TestApply(t *testing.T) {
	cases := []struct {
		name        string
		policy      config.ContentPolicy
		in          func() push.Notification
		wantChanged bool
		want        func(n *push.Notification)
	}{
		{"full passes through", config.ContentFull, fullMessage, false, func(n *push.Notification) {}},
		{"generic strips text and names", config.ContentGeneric, fullMessage, true, func(n *push.Notification) {
			n.Message, n.ChannelName, n.SenderName, n.OverrideUsername, n.Raw = GenericMessage, "", "", "", nil
		}},
		{"id_only makes message id-loaded", config.ContentIDOnly, fullMessage, true, func(n *push.Notification) {
			n.Message, n.ChannelName, n.SenderName, n.OverrideUsername, n.Raw = GenericMessage, "", "", "", nil
			n.IsIDLoaded = true
		}},
		{"id_only on an id-loaded push with no names changes nothing", config.ContentIDOnly,
			func() push.Notification {
				return push.Notification{Type: push.TypeMessage, PostID: "p", IsIDLoaded: true, Message: GenericMessage, Raw: []byte("{}")}
			}, false, func(n *push.Notification) {}},
		{"id_only gives an empty id-loaded message the generic text", config.ContentIDOnly,
			func() push.Notification { return push.Notification{Type: push.TypeMessage, PostID: "p"} },
			true, func(n *push.Notification) { n.IsIDLoaded, n.Message = true, GenericMessage }},
		{"id_only leaves clear pushes alone", config.ContentIDOnly,
			func() push.Notification {
				return push.Notification{Type: push.TypeClear, ChannelID: "c", Badge: 0, Raw: []byte("{}")}
			}, false, func(n *push.Notification) {}},
		{"id_only cannot id-load a message without a post", config.ContentIDOnly,
			func() push.Notification { return push.Notification{Type: push.TypeMessage, Message: "secret"} },
			true, func(n *push.Notification) { n.Message = GenericMessage }},
		{"generic strips a session message too", config.ContentGeneric,
			func() push.Notification { return push.Notification{Type: push.TypeSession, Message: "anything"} },
			true, func(n *push.Notification) { n.Message = GenericMessage }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, want := tc.in(), tc.in()
			tc.want(&want)
			changed := Apply(tc.policy, &got)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if string(got.Raw) != string(want.Raw) {
				t.Errorf("Raw = %q, want %q", got.Raw, want.Raw)
			}
			got.Raw, want.Raw = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}
