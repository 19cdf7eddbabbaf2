package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/server"
)

const usage = `relay — a Mattermost-compatible push notification server for APNs and FCM.

Usage:
  relay --config FILE        serve the push API (FILE: relay YAML, or an unchanged
                             mattermost-push-proxy.json)
  relay send-test --server URL --platform P --device TOKEN [flags]
                             send a Mattermost-style test push and print the answer;
                             exits non-zero unless the answer is OK
  relay version              print the build information
  relay --help               show this help

The configuration is documented in docs/relay-config.md.
`

// Main runs the relay command with args (without the program name) and returns its exit
// code. SIGTERM and SIGINT stop the server gracefully.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "send-test":
			return sendTestMain(args[1:], stdout, stderr)
		case "version":
			b, _ := json.MarshalIndent(server.Build(), "", "  ")
			fmt.Fprintln(stdout, string(b))
			return 0
		case "help":
			fmt.Fprint(stdout, usage)
			return 0
		}
	}
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	cfgPath := fs.String("config", "", "path of the relay configuration file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "relay: unknown command %q\n\n%s", fs.Arg(0), usage)
		return 2
	}
	if *cfgPath == "" {
		fmt.Fprintf(stderr, "relay: --config is required\n\n%s", usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, *cfgPath, stderr); err != nil {
		fmt.Fprintf(stderr, "relay: %v\n", err)
		return 1
	}
	return 0
}

func sendTestMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relay send-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o SendTestOptions
	fs.StringVar(&o.Server, "server", "", "the relay's base URL, e.g. https://push-relay:8066 (required)")
	fs.StringVar(&o.Platform, "platform", "", "platform as the app registers it, e.g. apple_rn-v2 (required)")
	fs.StringVar(&o.Device, "device", "", "device token (required)")
	fs.StringVar(&o.ServerID, "server-id", "relay-send-test", "server_id to send")
	fs.StringVar(&o.TokenFile, "token-file", "", "file holding the bearer token for caller authentication")
	fs.StringVar(&o.CAFile, "ca-file", "", "PEM bundle to trust for the relay's certificate")
	fs.StringVar(&o.CertFile, "cert-file", "", "client certificate (PEM) when the relay requires one")
	fs.StringVar(&o.KeyFile, "key-file", "", "client certificate key (PEM)")
	fs.BoolVar(&o.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify the relay's certificate")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "overall request timeout")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	code, resp, err := SendTest(context.Background(), o)
	if err != nil {
		fmt.Fprintf(stderr, "relay send-test: %v\n", err)
		return 1
	}
	b, _ := json.Marshal(resp)
	fmt.Fprintf(stdout, "HTTP %d %s\n", code, b)
	if code != 200 || resp.Status != push.StatusOK {
		return 1
	}
	return 0
}
