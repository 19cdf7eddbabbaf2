// Package conformance checks the relay against the chat server's own model package
// (github.com/mattermost/mattermost/server/public/model): requests are built and marshalled
// exactly as a Mattermost server builds them. It is a separate, test-only module so that
// the heavy model package stays out of the operator's go.mod; `make test` runs it.
package conformance
