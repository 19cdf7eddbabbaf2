package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/push"
)

type okSender struct{}

func (okSender) Send(context.Context, *push.Notification) push.Result {
	return push.Result{Status: push.StatusOK, Tries: 1}
}

// BenchmarkSendPush measures the relay's own cost per push — auth, decode, throttle,
// validate, content ceiling, metrics, answer — with a sender that returns at once.
func BenchmarkSendPush(b *testing.B) {
	h := newHarness(&testing.T{}, testConfig(func(c *config.Config) { c.Throttle.PerSecond = -1 }))
	h.router.senders["apple_rn"] = okSender{}
	handler := h.srv.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/send_push", strings.NewReader(applePush))
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("HTTP %d", w.Code)
			}
		}
	})
}
