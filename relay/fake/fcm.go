package fake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FCMRequest is one send the fake FCM received.
type FCMRequest struct {
	Project string
	Token   string
	Data    map[string]string
	// AndroidPriority is message.android.priority ("high" or "normal").
	AndroidPriority string
	// ClientEmail is the service account whose OAuth token authorised the call.
	ClientEmail string
	Header      http.Header
	Body        json.RawMessage
	// Status and Reason are what the fake answered (0 when it reset or hung).
	Status int
	Reason string
}

// FCM is a fake Firebase Cloud Messaging HTTP v1 API with the OAuth2 token endpoint a
// service account's token_uri points at. Sends need a bearer token the fake issued.
type FCM struct {
	srv   *tlsServer
	rules rules

	mu       sync.Mutex
	requests []FCMRequest
	tokens   map[string]string         // issued access token → client_email
	accounts map[string]*rsa.PublicKey // client_email → key; empty: trust any
	latency  time.Duration

	count  atomic.Int64
	issued atomic.Int64
	// MaxRecorded bounds how many requests are kept for Requests (default 10000).
	MaxRecorded int
}

// NewFCM starts a fake FCM on addr ("" for a free loopback port), serving with a
// certificate from ca for loopback and the extra hosts (e.g. a Service IP).
func NewFCM(addr string, ca *CA, hosts ...string) (*FCM, error) {
	cert, err := ca.ServerCertificate(append([]string{"127.0.0.1", "localhost", "::1"}, hosts...)...)
	if err != nil {
		return nil, err
	}
	f := &FCM{tokens: map[string]string{}, accounts: map[string]*rsa.PublicKey{}, MaxRecorded: 10000}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", f.send)
	mux.HandleFunc("POST /token", f.token)
	f.srv, err = startTLS(addr, cert, mux)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// URL is the API endpoint to give the firebase client (option.WithEndpoint; an app's
// fcm.endpoint): sends go to URL()/projects/{p}/messages:send.
func (f *FCM) URL() string { return "https://" + f.srv.addr() + "/v1" }

// TokenURL is the OAuth2 token endpoint for a service account's token_uri.
func (f *FCM) TokenURL() string { return "https://" + f.srv.addr() + "/token" }

// Close stops the fake.
func (f *FCM) Close() { f.srv.close() }

// Program adds answering rules; Rule.Reason is an FCM error code such as "UNREGISTERED".
func (f *FCM) Program(rs ...Rule) { f.rules.add(rs...) }

// ClearRules forgets every rule.
func (f *FCM) ClearRules() { f.rules.clear() }

// SetLatency delays every send's answer.
func (f *FCM) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// TrustServiceAccount makes the token endpoint verify assertions: only accounts trusted
// here get tokens. Without any, every well-formed assertion gets one.
func (f *FCM) TrustServiceAccount(sa *ServiceAccount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[sa.ClientEmail] = &sa.Key.PublicKey
}

// Requests returns the recorded sends, oldest first.
func (f *FCM) Requests() []FCMRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FCMRequest(nil), f.requests...)
}

// Count is how many sends arrived in total.
func (f *FCM) Count() int64 { return f.count.Load() }

// TokensIssued is how many OAuth tokens the token endpoint handed out.
func (f *FCM) TokensIssued() int64 { return f.issued.Load() }

// ClearRequests forgets the recorded sends and resets Count.
func (f *FCM) ClearRequests() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
	f.count.Store(0)
}

type fcmMessage struct {
	Message struct {
		Token   string            `json:"token"`
		Data    map[string]string `json:"data"`
		Android *struct {
			Priority string `json:"priority"`
		} `json:"android"`
	} `json:"message"`
}

func (f *FCM) send(w http.ResponseWriter, r *http.Request) {
	f.count.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	rec := FCMRequest{Project: r.PathValue("project"), Header: r.Header.Clone(), Body: json.RawMessage(body)}
	var msg fcmMessage
	decodeErr := json.Unmarshal(body, &msg)
	rec.Token, rec.Data = msg.Message.Token, msg.Message.Data
	if msg.Message.Android != nil {
		rec.AndroidPriority = msg.Message.Android.Priority
	}
	f.mu.Lock()
	rec.ClientEmail = f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	latency := f.latency
	f.mu.Unlock()

	rule := f.rules.match(rec.Token)
	rule.Latency += latency
	early := rule.Hang || rule.Reset || rule.Drop
	if early {
		f.record(rec) // now: the client may give up before the handler returns
	}
	if !behave(w, r, rule, f.srv.done) {
		if !early {
			f.record(rec) // the client left during the latency
		}
		return
	}
	switch {
	case rec.ClientEmail == "":
		rec.Status, rec.Reason = http.StatusUnauthorized, "UNAUTHENTICATED"
	case decodeErr != nil || rec.Token == "":
		rec.Status, rec.Reason = http.StatusBadRequest, "INVALID_ARGUMENT"
	case rule.Reason != "" || rule.Status != 0:
		rec.Status, rec.Reason = rule.Status, rule.Reason
		if rec.Status == 0 {
			rec.Status = FCMStatus(rule.Reason)
		}
	default:
		rec.Status = http.StatusOK
	}
	f.record(rec)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if rec.Status == http.StatusOK {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"name": fmt.Sprintf("projects/%s/messages/0:%d", rec.Project, time.Now().UnixNano()),
		})
		return
	}
	w.WriteHeader(rec.Status)
	_ = json.NewEncoder(w).Encode(fcmError(rec.Status, rec.Reason))
}

// fcmError is FCM's error body: a google.rpc.Status whose details carry the FcmError code
// the firebase SDK maps to messaging.IsUnregistered & co.
func fcmError(status int, code string) map[string]any {
	canonical := map[int]string{
		400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
		429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
	}[status]
	if canonical == "" {
		canonical = "UNKNOWN"
	}
	e := map[string]any{"code": status, "message": "fake FCM: " + code, "status": canonical}
	if code != "UNAUTHENTICATED" { // a missing OAuth token is Google's error, not FCM's
		e["details"] = []map[string]string{{
			"@type":     "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			"errorCode": code,
		}}
	}
	return map[string]any{"error": e}
}

// FCMStatus is the HTTP status FCM uses with an error code.
func FCMStatus(code string) int {
	switch code {
	case "":
		return http.StatusOK
	case "UNREGISTERED":
		return http.StatusNotFound
	case "SENDER_ID_MISMATCH", "PERMISSION_DENIED":
		return http.StatusForbidden
	case "QUOTA_EXCEEDED":
		return http.StatusTooManyRequests
	case "UNAVAILABLE":
		return http.StatusServiceUnavailable
	case "INTERNAL":
		return http.StatusInternalServerError
	case "THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED":
		return http.StatusUnauthorized
	default: // INVALID_ARGUMENT
		return http.StatusBadRequest
	}
}

// token is the OAuth2 JWT-bearer grant (RFC 7523) as Google's token endpoint serves it.
func (f *FCM) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "unsupported_grant_type"})
		return
	}
	email, ok := f.verifyAssertion(r.PostForm.Get("assertion"))
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
		return
	}
	tok := fmt.Sprintf("ya29.fake-%d", f.issued.Add(1))
	f.mu.Lock()
	f.tokens[tok] = email
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599})
}

func (f *FCM) verifyAssertion(jwt string) (string, bool) {
	parts := strings.Split(jwt, ".")
	var claims struct {
		Iss string `json:"iss"`
	}
	if len(parts) != 3 || decodeSegment(parts[1], &claims) != nil || claims.Iss == "" {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.accounts) == 0 {
		return claims.Iss, true
	}
	pub := f.accounts[claims.Iss]
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if pub == nil || err != nil {
		return "", false
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return claims.Iss, rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
}

func (f *FCM) record(rec FCMRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) < f.MaxRecorded {
		f.requests = append(f.requests, rec)
	}
}
