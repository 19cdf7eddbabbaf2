package retry

import (
	"context"
	"testing"
	"time"

	"github.com/pushops/push-operator/relay/push"
)

// script answers attempts from a list: true = retryable failure, false = success.
func script(answers ...bool) (Attempt, *int) {
	calls := 0
	return func(ctx context.Context) (push.Result, bool) {
		i := calls
		calls++
		if i < len(answers) && answers[i] {
			return push.Result{Status: push.StatusFail, Reason: "transient"}, true
		}
		return push.Result{Status: push.StatusOK}, false
	}, &calls
}

func TestRun(t *testing.T) {
	p := Policy{Tries: 3, Base: time.Millisecond}
	cases := []struct {
		name    string
		answers []bool
		status  push.Status
		tries   int
	}{
		{"first try", nil, push.StatusOK, 1},
		{"after one retry", []bool{true}, push.StatusOK, 2},
		{"after two retries", []bool{true, true}, push.StatusOK, 3},
		{"gives up after the last try", []bool{true, true, true, true}, push.StatusFail, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attempt, calls := script(tc.answers...)
			retries := 0
			res := p.Run(context.Background(), func() { retries++ }, attempt)
			if res.Status != tc.status || res.Tries != tc.tries || *calls != tc.tries || retries != tc.tries-1 {
				t.Errorf("got %+v after %d calls and %d retries", res, *calls, retries)
			}
		})
	}
}

func TestDefinitiveAnswersAreNotRetried(t *testing.T) {
	calls := 0
	res := Policy{Tries: 3, Base: time.Millisecond}.Run(context.Background(), nil, func(context.Context) (push.Result, bool) {
		calls++
		return push.Result{Status: push.StatusRemove, Reason: "Unregistered"}, false
	})
	if calls != 1 || res.Status != push.StatusRemove || res.Tries != 1 {
		t.Errorf("got %+v after %d calls", res, calls)
	}
}

func TestEachTryHasItsOwnTimeout(t *testing.T) {
	var deadlines []time.Duration
	Policy{Tries: 2, Base: time.Millisecond, PerTry: 50 * time.Millisecond}.Run(context.Background(), nil,
		func(ctx context.Context) (push.Result, bool) {
			dl, ok := ctx.Deadline()
			if !ok {
				t.Fatal("a try without a deadline")
			}
			deadlines = append(deadlines, time.Until(dl))
			return push.Result{Status: push.StatusFail}, true
		})
	for _, d := range deadlines {
		if d <= 0 || d > 50*time.Millisecond {
			t.Errorf("try deadline %v away, want within 50ms", d)
		}
	}
	if len(deadlines) != 2 {
		t.Errorf("%d tries, want 2", len(deadlines))
	}
}

func TestNoRetryThatCannotFinishBeforeTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	attempt, calls := script(true, true, true)
	start := time.Now()
	res := Policy{Tries: 3, Base: time.Second}.Run(ctx, nil, attempt)
	if *calls != 1 || res.Tries != 1 || time.Since(start) > 50*time.Millisecond {
		t.Errorf("got %+v after %d calls in %v; a 1s backoff does not fit a 100ms deadline", res, *calls, time.Since(start))
	}
}

func TestDelaysDoubleWithJitter(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond}
	for i, lo := range []time.Duration{50, 100, 200} {
		lo *= time.Millisecond
		for range 50 {
			if d := p.delay(i + 1); d < lo || d > 2*lo {
				t.Fatalf("delay after try %d = %v, want in [%v, %v]", i+1, d, lo, 2*lo)
			}
		}
	}
}
