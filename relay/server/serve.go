package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// shutdownMargin is added to the send deadline when waiting for in-flight sends at shutdown:
// a send that started just before shutdown may take the whole deadline, plus writing its
// answer.
const shutdownMargin = 5 * time.Second

// Serve serves the API on ln (HTTPS when the configuration has tls) until ctx is done, then
// shuts down gracefully: /readyz fails at once, the relay keeps serving for
// timeouts.shutdownDelay so endpoints drop it, then stops accepting and waits for in-flight
// sends (bounded by the send deadline) before returning. It returns nil after a clean
// shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// An answer is written after the send, which may take the whole send deadline.
		WriteTimeout: s.cfg.Timeouts.Send.Std() + shutdownMargin,
		IdleTimeout:  90 * time.Second,
		// Connection-level noise (TLS handshakes of port scanners, clients hanging up)
		// goes to the structured log at debug instead of raw lines on stderr.
		ErrorLog: log.New(logWriter{s.log.V(1)}, "", 0),
	}
	if s.cfg.TLS != nil {
		tlsCfg, err := newTLSConfig(s.cfg.TLS, s.cfg.CallerAuth.ClientCAFile, s.log)
		if err != nil {
			return err
		}
		srv.TLSConfig = tlsCfg
	}

	// Read before serving: ServeTLS configures HTTP/2 by writing to srv.TLSConfig.
	tlsOn := srv.TLSConfig != nil
	served := make(chan error, 1)
	go func() {
		var err error
		if tlsOn {
			err = srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig, reloaded on change
		} else {
			err = srv.Serve(ln)
		}
		served <- err
	}()
	s.log.Info("relay listening", "address", ln.Addr().String(), "tls", tlsOn)

	select {
	case err := <-served:
		return fmt.Errorf("serving the push API: %w", err)
	case <-ctx.Done():
	}

	s.Drain()
	delay := s.cfg.Timeouts.ShutdownDelay.Std()
	s.log.Info("shutting down: readiness off, still serving", "delay", delay)
	select {
	case <-time.After(delay):
	case err := <-served:
		return fmt.Errorf("serving the push API: %w", err)
	}

	wait := s.cfg.Timeouts.Send.Std() + shutdownMargin
	s.log.Info("shutting down: no new connections, waiting for in-flight sends", "upTo", wait)
	shutCtx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serving the push API: %w", serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("in-flight requests still running after %s: %w", wait, err)
	}
	s.log.Info("shut down cleanly")
	return nil
}

// logWriter turns net/http's error log lines into logr lines.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info("http server", "error", strings.TrimSpace(string(p)))
	return len(p), nil
}
