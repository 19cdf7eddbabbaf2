package apns_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSend is one APNs push through the sender and the real apns2 client to the fake
// (loopback, HTTP/2): the sender's own cost on top of the client's.
func BenchmarkSend(b *testing.B) {
	t := &testing.T{}
	r := newRig(t)
	s, _ := r.sender(t, 5*time.Second)
	r.fake.MaxRecorded = 0
	n := message("benchmark-device")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := s.Send(ctx, n); res.Status != "OK" {
				b.Fatalf("%+v", res)
			}
		}
	})
}
