package fake

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Rule programs how a fake answers the device tokens starting with TokenPrefix ("" matches
// every token). Rules are matched in the order they were added.
type Rule struct {
	TokenPrefix string
	// Times limits how often the rule applies (0: always); a rule used up is skipped, so
	// "fail twice, then deliver" is one rule with Times 2.
	Times int
	// Status is the HTTP status; 0 derives it from Reason (200 when Reason is empty).
	Status int
	// Reason is the APNs reason (e.g. "BadDeviceToken") or the FCM error code
	// (e.g. "UNREGISTERED").
	Reason string
	// Latency delays the answer.
	Latency time.Duration
	// Reset aborts the stream without an answer: the client sees a transport error.
	Reset bool
	// Hang holds the request until the client gives up (or the fake closes).
	Hang bool
	// Drop closes the TCP connection under the request: every stream on it fails.
	Drop bool
}

// rules is a concurrency-safe, ordered rule list.
type rules struct {
	mu   sync.Mutex
	list []*Rule
}

func (r *rules) add(rs ...Rule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range rs {
		r.list = append(r.list, &x)
	}
}

func (r *rules) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = nil
}

// match returns the rule for token (a copy), consuming one use of a limited rule.
func (r *rules) match(token string) Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.list {
		if !strings.HasPrefix(token, x.TokenPrefix) || x.Times < 0 {
			continue
		}
		if x.Times > 0 {
			x.Times--
			if x.Times == 0 {
				x.Times = -1 // used up
			}
		}
		return *x
	}
	return Rule{}
}

// behave applies a rule's latency, hang and reset. It reports false when the handler must
// not answer (the stream was aborted or the client left).
func behave(w http.ResponseWriter, r *http.Request, rule Rule, done <-chan struct{}) bool {
	if rule.Latency > 0 {
		t := time.NewTimer(rule.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if rule.Hang {
		select {
		case <-r.Context().Done():
		case <-done:
		}
		return false
	}
	if rule.Drop {
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			c.Close()
			return false
		}
	}
	if rule.Reset {
		// Aborting the handler resets the HTTP/2 stream (or closes an HTTP/1 connection).
		panic(http.ErrAbortHandler)
	}
	return true
}

// connKey finds a request's connection in its context.
type connKey struct{}

// tlsServer is a loopback HTTPS server speaking HTTP/2 and HTTP/1.1.
type tlsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	once sync.Once
}

func startTLS(addr string, cert tls.Certificate, h http.Handler) (*tlsServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &tlsServer{
		ln:   ln,
		done: make(chan struct{}),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			TLSConfig: &tls.Config{
				Certificates: []tls.Certificate{cert},
				MinVersion:   tls.VersionTLS12,
				NextProtos:   []string{"h2", "http/1.1"},
				// APNs certificate auth: ask for a client certificate, verify nothing (the
				// fake records who it was; token-auth clients send none).
				ClientAuth: tls.RequestClientCert,
			},
			// Handlers reach their connection to drop it (Rule.Drop).
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				return context.WithValue(ctx, connKey{}, c)
			},
			// TLS handshake noise (clients that hang up) is not news in a fake.
			ErrorLog: log.New(io.Discard, "", 0),
		},
	}
	// ServeTLS returns ErrServerClosed after close; there is nobody to report other errors
	// to, and a fake that stopped serving shows up as transport errors in the caller.
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

func (s *tlsServer) addr() string { return s.ln.Addr().String() }

func (s *tlsServer) close() {
	s.once.Do(func() { close(s.done) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
}
