package throttle

import (
	"fmt"
	"testing"
	"time"
)

func TestPerCallerBuckets(t *testing.T) {
	l := New(10, 2, 100)
	now := time.Unix(1_700_000_000, 0)
	steps := []struct {
		key     string
		advance time.Duration
		want    bool
	}{
		{"a", 0, true}, {"a", 0, true}, {"a", 0, false}, // burst of 2 spent
		{"b", 0, true},                      // another caller has its own bucket
		{"a", 100 * time.Millisecond, true}, // 10/s refills one token in 100ms
		{"a", 0, false},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := l.AllowAt(s.key, now); got != s.want {
			t.Errorf("step %d (%s): Allow = %v, want %v", i, s.key, got, s.want)
		}
	}
}

func TestBoundedMemoryForgetsLeastRecent(t *testing.T) {
	l := New(1, 1, 3)
	now := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		l.AllowAt(fmt.Sprint("c", i), now) // c0, c1, c2 each spend their only token
	}
	l.AllowAt("c0", now) // c0 is now the most recent; c1 the least
	if l.AllowAt("c3", now) != true {
		t.Fatal("new caller refused")
	}
	if l.Len() != 3 {
		t.Fatalf("Len = %d, want 3", l.Len())
	}
	// c1 was forgotten, so it starts with a full bucket again; c0 was kept and is still empty.
	if !l.AllowAt("c1", now) {
		t.Error("c1 should have been evicted and start fresh")
	}
	if l.AllowAt("c0", now) {
		t.Error("c0 should have been kept with an empty bucket")
	}
	if l.Len() != 3 {
		t.Fatalf("Len = %d after more callers, want 3", l.Len())
	}
}
