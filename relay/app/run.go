// Package app wires the relay together — configuration, logging, metrics, senders and the
// HTTP API — and implements the relay command's subcommands, so cmd/relay stays a one-line
// main and every path is testable in-process.
package app

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/senders"
	"github.com/pushops/push-operator/relay/server"
)

// Run loads the configuration at cfgPath and serves the relay until ctx is done, then
// shuts down gracefully (see server.Serve). Logs go to logOut.
func Run(ctx context.Context, cfgPath string, logOut io.Writer) error {
	f, err := config.Read(cfgPath)
	if err != nil {
		return err
	}
	cfg := f.Config
	log, flush, err := NewLogger(cfg.Log, logOut)
	if err != nil {
		return err
	}
	defer flush()
	tuneMemory(log)
	if f.Legacy {
		log.Info("converted a mattermost-push-proxy.json configuration", "file", cfgPath, "apps", len(cfg.Apps))
	}
	for _, w := range f.Warnings {
		log.Info("configuration warning", "warning", w)
	}

	m := metrics.New()
	set := senders.New(cfg, m, log.WithName("senders"))
	defer set.Close()
	if err := set.Ready(); err != nil {
		// Not fatal: the relay serves, /readyz says why, and a fixed Secret is picked up.
		log.Error(err, "starting with apps that cannot deliver")
	}
	srv, err := server.New(server.Options{Config: cfg, Router: set, Metrics: m, Log: log.WithName("api")})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s (listen): %w", cfg.Listen, err)
	}

	// Credential watching outlives ctx: sends still finishing during shutdown may need a
	// reloaded client.
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if err := set.Run(watchCtx); err != nil {
			log.Error(err, "credential hot reload is off; restart the relay after changing credentials")
		}
	}()
	err = srv.Serve(ctx, ln)
	stopWatch()
	<-watched
	return err
}
