// Package retry runs a delivery attempt with a per-try timeout and retries it with
// exponential backoff and jitter while the overall send deadline allows, the way every
// relay sender retries transport errors and retryable upstream answers.
package retry

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/pushops/push-operator/relay/push"
)

// Defaults as the reference push proxy: up to 3 tries, 1 s doubling, 8 s per try.
const (
	DefaultTries  = 3
	DefaultBase   = time.Second
	DefaultPerTry = 8 * time.Second
)

// Policy says how often and how patiently to try.
type Policy struct {
	// Tries is the maximum number of attempts (at least 1).
	Tries int
	// Base is the delay before the second attempt; each further delay doubles. The actual
	// delay is drawn in [Base/2, Base] (doubled each time) so callers do not retry in step.
	Base time.Duration
	// PerTry bounds each attempt (0: only the overall deadline).
	PerTry time.Duration
}

// Default is the reference policy with the given per-try timeout (0: DefaultPerTry).
func Default(perTry time.Duration) Policy {
	if perTry <= 0 {
		perTry = DefaultPerTry
	}
	return Policy{Tries: DefaultTries, Base: DefaultBase, PerTry: perTry}
}

// Attempt makes one delivery attempt. It reports the result and whether the failure is
// worth another try (a transport error, a timeout, a retryable upstream code).
type Attempt func(ctx context.Context) (res push.Result, retryable bool)

// Run calls attempt until it succeeds, fails definitively, the tries are used up, or the
// next backoff would not fit before ctx's deadline. onRetry is called before each retry
// (for metrics). The returned Result's Tries counts the attempts made.
func (p Policy) Run(ctx context.Context, onRetry func(), attempt Attempt) push.Result {
	tries := max(p.Tries, 1)
	var res push.Result
	for i := 1; ; i++ {
		var retryable bool
		res, retryable = p.try(ctx, attempt)
		res.Tries = i
		if !retryable || i >= tries || ctx.Err() != nil {
			return res
		}
		delay := p.delay(i)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return res
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return res
		case <-t.C:
		}
		if onRetry != nil {
			onRetry()
		}
	}
}

func (p Policy) try(ctx context.Context, attempt Attempt) (push.Result, bool) {
	if p.PerTry <= 0 {
		return attempt(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, p.PerTry)
	defer cancel()
	return attempt(tctx)
}

// delay is the wait after attempt i (1-based): Base·2^(i-1), jittered into its upper half.
func (p Policy) delay(i int) time.Duration {
	d := p.Base << (i - 1)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
