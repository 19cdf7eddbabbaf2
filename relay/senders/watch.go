package senders

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounce collects the burst of events a Secret update causes (new timestamped directory,
// symlink swap, old directory removed) into one reload.
const debounce = 200 * time.Millisecond

// Run watches the credential files until ctx ends, reloading apps whose files changed. It
// watches the files' directories (a Kubernetes Secret update replaces the "..data" symlink
// there, never the file itself) and also re-hashes every PollInterval, so a missed event
// only delays a reload.
func (s *Set) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching credential files: %w", err)
	}
	defer w.Close()
	dirs := map[string]bool{}
	for _, a := range s.all {
		for _, f := range a.files {
			dirs[filepath.Dir(f)] = true
		}
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			// The poll still notices changes; a missing directory may appear later.
			s.log.Info("cannot watch credential directory; relying on polling", "dir", d, "error", err.Error())
		}
	}
	poll := time.NewTicker(s.opts.pollInterval)
	defer poll.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.Events:
			settle.Reset(debounce)
		case err := <-w.Errors:
			s.log.Info("credential watch error; relying on polling", "error", err.Error())
		case <-settle.C:
			s.reloadAll()
		case <-poll.C:
			s.reloadAll()
		}
	}
}

func (s *Set) reloadAll() {
	for _, a := range s.all {
		a.reload(s.opts.closeDelay)
	}
}
