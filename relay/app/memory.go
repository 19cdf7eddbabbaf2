package app

import (
	"errors"
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// relayGCPercent is the relay's GOGC. Its live heap is small (clients, registry, config:
// a few MiB) while every push allocates ~15 KiB in net/http, HTTP/2 and JSON, so with
// Go's default of 100 the collector runs dozens of times a second and takes about 15 % of
// the relay's CPU under load (make bench-relay). 400 collects a quarter as often for about
// 15 MiB more resident memory; the memory limit below keeps that bounded.
const relayGCPercent = 400

// tuneMemory sets the garbage collector for a relay: GOGC 400 and a soft memory limit of
// 90 % of the container's (cgroup) memory limit, so the collector works harder before the
// kernel's OOM killer would. GOGC, GOMEMLIMIT and AUTOMEMLIMIT in the environment win.
func tuneMemory(log logr.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(relayGCPercent)
	}
	limit, err := memlimit.Set(memlimit.WithRatio(0.9), memlimit.WithProvider(memlimit.FromCgroup))
	switch {
	case errors.Is(err, memlimit.ErrNoLimit):
	case err != nil:
		// Not in a cgroup with a limit (a developer's machine): nothing to follow.
		log.V(1).Info("no container memory limit found; GOMEMLIMIT not set", "reason", err.Error())
	default:
		log.V(1).Info("soft memory limit from the container's limit", "gomemlimit", limit)
	}
}
