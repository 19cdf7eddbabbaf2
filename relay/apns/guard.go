package apns

import "sync"

// Apple answers BadDeviceToken when a token belongs to the other environment (sandbox vs
// production), so an app configured for the wrong environment gets BadDeviceToken for every
// device, and answering REMOVE for each would make the chat server forget them all. The
// guard therefore only trusts BadDeviceToken once this client has delivered at least one
// push (the environment is then evidently right), and trips when recent answers look like a
// mismatch: at least guardMin answers in the window, guardShare of them BadDeviceToken,
// and no delivery among them.
const (
	guardWindow = 20
	guardMin    = 10
	guardShare  = 0.9
)

// MismatchReason is the FAIL reason while the guard is tripped.
const MismatchReason = "BadDeviceToken for every device: is the app's environment (production/development) right?"

// unconfirmedReason is the FAIL reason for a BadDeviceToken before any delivery succeeded.
const unconfirmedReason = "BadDeviceToken before any delivery succeeded: device kept until the app's environment is confirmed"

type answer uint8

const (
	answerDelivered answer = iota + 1
	answerBadToken
	answerOther
)

// envGuard tracks one client's recent answers. It is reset with the client (start, reload).
type envGuard struct {
	mu        sync.Mutex
	confirmed bool // a push was delivered by this client
	tripped   bool
	recent    [guardWindow]answer
	next, n   int
}

// guardVerdict is what the sender does with a BadDeviceToken answer.
type guardVerdict struct {
	remove    bool // trust it: answer REMOVE
	tripped   bool // the guard is tripped: answer MismatchReason
	trippedUp bool // this answer tripped it (log and set the metric once)
}

// delivered records a delivered push. It reports whether this clears a tripped guard.
func (g *envGuard) delivered() (cleared bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.push(answerDelivered)
	g.confirmed = true
	cleared, g.tripped = g.tripped, false
	return cleared
}

// other records a rejection other than BadDeviceToken.
func (g *envGuard) other() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.push(answerOther)
}

// badDeviceToken records a BadDeviceToken answer and decides how to report it.
func (g *envGuard) badDeviceToken() guardVerdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.push(answerBadToken)
	var v guardVerdict
	if !g.tripped && g.looksMismatched() {
		g.tripped, v.trippedUp = true, true
	}
	v.tripped = g.tripped
	v.remove = g.confirmed && !g.tripped
	return v
}

func (g *envGuard) push(a answer) {
	g.recent[g.next] = a
	g.next = (g.next + 1) % guardWindow
	g.n = min(g.n+1, guardWindow)
}

func (g *envGuard) looksMismatched() bool {
	if g.n < guardMin {
		return false
	}
	bad := 0
	for _, a := range g.recent[:g.n] {
		switch a {
		case answerDelivered:
			return false
		case answerBadToken:
			bad++
		}
	}
	return float64(bad) >= guardShare*float64(g.n)
}
