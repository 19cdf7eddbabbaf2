// Package relay is the push relay that a PushService runs: a Mattermost-compatible push
// notification server delivering to Apple APNs and Google FCM, or forwarding upstream.
package relay
