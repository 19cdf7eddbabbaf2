// Package throttle limits requests per caller with a token bucket each, keeping at most a
// bounded number of callers in memory (the least recently seen is forgotten first), so a
// flood of distinct keys cannot grow the relay without bound.
package throttle

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds one token bucket per caller key. It is safe for concurrent use.
type Limiter struct {
	limit rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	callers map[string]*list.Element // value: *caller
	lru     list.List                // front: most recently seen
}

type caller struct {
	key    string
	bucket *rate.Limiter
}

// New returns a Limiter allowing perSecond requests per caller with bursts of burst,
// remembering at most maxCallers callers.
func New(perSecond float64, burst, maxCallers int) *Limiter {
	if maxCallers < 1 {
		maxCallers = 1
	}
	return &Limiter{limit: rate.Limit(perSecond), burst: burst, max: maxCallers, callers: map[string]*list.Element{}}
}

// Allow reports whether the caller key may make a request now, spending a token if so.
func (l *Limiter) Allow(key string) bool { return l.AllowAt(key, time.Now()) }

// AllowAt is Allow at a given time (tests drive the clock).
func (l *Limiter) AllowAt(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.callers[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*caller).bucket.AllowN(now, 1)
	}
	if l.lru.Len() >= l.max {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.callers, oldest.Value.(*caller).key)
	}
	c := &caller{key: key, bucket: rate.NewLimiter(l.limit, l.burst)}
	l.callers[key] = l.lru.PushFront(c)
	return c.bucket.AllowN(now, 1)
}

// Len is how many callers are remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}
