// Package policy enforces the relay's content ceiling: the most message content a push may
// carry when it leaves the cluster for APNs, FCM or an upstream push service, whatever the
// chat server put in it (its own PushNotificationContents setting is not trusted for this).
package policy

import (
	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/push"
)

// GenericMessage replaces message text under the generic and id_only ceilings. The mobile
// apps show it as is for generic pushes; for id-loaded pushes they fetch the real content
// from the chat server over TLS and show that instead.
const GenericMessage = "You have a new notification."

// Apply lowers n's content to the ceiling p and reports whether anything changed. A changed
// notification has its Raw body cleared so that a forward sender re-encodes it instead of
// relaying the caller's original content.
//
//   - full: nothing changes.
//   - generic: message text becomes GenericMessage; channel, sender and override names are
//     dropped; ids stay so the app can still open the right channel.
//   - id_only: as generic, and every message push becomes id-loaded (the app fetches the
//     content itself) when it names a post.
func Apply(p config.ContentPolicy, n *push.Notification) bool {
	if p != config.ContentGeneric && p != config.ContentIDOnly {
		return false
	}
	changed := false
	set := func(field *string, v string) {
		if *field != v {
			*field, changed = v, true
		}
	}
	if n.Message != "" {
		set(&n.Message, GenericMessage)
	}
	set(&n.ChannelName, "")
	set(&n.SenderName, "")
	set(&n.OverrideUsername, "")
	if p == config.ContentIDOnly && isMessage(n.Type) && n.PostID != "" && !n.IsIDLoaded {
		n.IsIDLoaded, changed = true, true
		if n.Message == "" {
			n.Message = GenericMessage
		}
	}
	if changed {
		n.Raw = nil
	}
	return changed
}

// isMessage reports whether a push of this type carries a post; the reference treats an
// empty type as a message.
func isMessage(t string) bool { return t == push.TypeMessage || t == "" }
