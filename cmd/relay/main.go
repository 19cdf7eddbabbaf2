// Command relay is the push relay that a PushService runs: `relay --config FILE` serves
// the Mattermost push proxy API; `relay send-test` and `relay version` are tools. See
// relay/app for the wiring and docs/relay-config.md for the configuration.
package main

import (
	"os"

	"github.com/pushops/push-operator/relay/app"
)

func main() { os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr)) }
