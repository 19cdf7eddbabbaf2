package fake

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// APNsRequest is one request the fake APNs received.
type APNsRequest struct {
	Token   string
	Header  http.Header
	Payload json.RawMessage
	// Status and Reason are what the fake answered (0 when it reset or hung).
	Status int
	Reason string
	// KeyID and TeamID come from the provider token (token auth).
	KeyID  string
	TeamID string
	// ClientCN is the client certificate's common name (certificate auth).
	ClientCN string
}

// maxPayload is Apple's limit for alert pushes (VoIP allows 5120 bytes).
const (
	maxPayload     = 4096
	maxVoIPPayload = 5120
)

// APNs is a fake Apple Push Notification service: HTTP/2 over TLS, POST /3/device/{token},
// Apple's status codes and error JSON. It checks what Apple checks cheaply (a topic, a
// provider token or client certificate, payload size) and answers the rest from its rules.
type APNs struct {
	srv   *tlsServer
	rules rules

	mu       sync.Mutex
	requests []APNsRequest
	keys     map[string]*ecdsa.PublicKey // key ID → token-auth key; empty: trust any
	verified map[string]providerToken    // provider tokens already accepted (clients reuse one for up to an hour)
	latency  time.Duration

	count atomic.Int64
	// MaxRecorded bounds how many requests are kept for Requests (default 10000); later
	// ones are only counted, so long load runs stay small.
	MaxRecorded int
}

// NewAPNs starts a fake APNs on addr ("" for a free loopback port) with a serving
// certificate from ca for 127.0.0.1, localhost and the extra hosts (e.g. a Service IP).
func NewAPNs(addr string, ca *CA, hosts ...string) (*APNs, error) {
	cert, err := ca.ServerCertificate(append([]string{"127.0.0.1", "localhost", "::1"}, hosts...)...)
	if err != nil {
		return nil, err
	}
	f := &APNs{keys: map[string]*ecdsa.PublicKey{}, verified: map[string]providerToken{}, MaxRecorded: 10000}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /3/device/{token}", f.serve)
	mux.HandleFunc("POST /3/device/", f.serve) // Apple answers MissingDeviceToken
	f.srv, err = startTLS(addr, cert, mux)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// URL is the base URL to set as an apns2 client's Host (an app's apns.endpoint).
func (f *APNs) URL() string { return "https://" + f.srv.addr() }

// Close stops the fake; hanging requests return.
func (f *APNs) Close() { f.srv.close() }

// Program adds answering rules.
func (f *APNs) Program(rs ...Rule) { f.rules.add(rs...) }

// ClearRules forgets every rule: all tokens are delivered again.
func (f *APNs) ClearRules() { f.rules.clear() }

// SetLatency delays every answer (on top of a rule's Latency).
func (f *APNs) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// TrustKey makes the fake verify provider tokens: only tokens signed by a trusted key are
// accepted (403 InvalidProviderToken otherwise). Without any trusted key, any token passes.
func (f *APNs) TrustKey(keyID string, pub *ecdsa.PublicKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[keyID] = pub
	clear(f.verified)
}

// Requests returns the recorded requests, oldest first.
func (f *APNs) Requests() []APNsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]APNsRequest(nil), f.requests...)
}

// Count is how many requests arrived in total (recorded or not).
func (f *APNs) Count() int64 { return f.count.Load() }

// ClearRequests forgets the recorded requests and resets Count.
func (f *APNs) ClearRequests() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
	f.count.Store(0)
}

func (f *APNs) serve(w http.ResponseWriter, r *http.Request) {
	f.count.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	rec := APNsRequest{Token: r.PathValue("token"), Header: r.Header.Clone(), Payload: json.RawMessage(body)}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		rec.ClientCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	f.mu.Lock()
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
	rec.Status, rec.Reason = f.check(r, &rec, body)
	if rec.Status == http.StatusOK && (rule.Reason != "" || rule.Status != 0) {
		rec.Status, rec.Reason = rule.Status, rule.Reason
		if rec.Status == 0 {
			rec.Status = APNsStatus(rec.Reason)
		}
	}
	f.record(rec)
	w.Header().Set("apns-id", apnsID(r))
	if rec.Status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	answer := map[string]any{"reason": rec.Reason}
	if rec.Reason == "Unregistered" {
		answer["timestamp"] = time.Now().UnixMilli()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.Status)
	_ = json.NewEncoder(w).Encode(answer)
}

// check answers what real APNs rejects whatever the token: missing token or topic, bad
// provider authentication, empty or oversized payload. It returns 200 when all is well.
func (f *APNs) check(r *http.Request, rec *APNsRequest, body []byte) (int, string) {
	switch {
	case rec.Token == "":
		return APNsStatus("MissingDeviceToken"), "MissingDeviceToken"
	case r.Header.Get("apns-topic") == "":
		return APNsStatus("MissingTopic"), "MissingTopic"
	}
	if reason := f.checkAuth(r, rec); reason != "" {
		return APNsStatus(reason), reason
	}
	limit := maxPayload
	if r.Header.Get("apns-push-type") == "voip" {
		limit = maxVoIPPayload
	}
	switch {
	case len(body) == 0:
		return APNsStatus("PayloadEmpty"), "PayloadEmpty"
	case len(body) > limit:
		return APNsStatus("PayloadTooLarge"), "PayloadTooLarge"
	}
	return http.StatusOK, ""
}

func (f *APNs) checkAuth(r *http.Request, rec *APNsRequest) string {
	auth := r.Header.Get("authorization")
	if auth == "" {
		if rec.ClientCN == "" {
			return "MissingProviderToken"
		}
		return ""
	}
	jwt, ok := strings.CutPrefix(auth, "bearer ")
	if !ok {
		return "InvalidProviderToken"
	}
	f.mu.Lock()
	known, ok := f.verified[jwt]
	f.mu.Unlock()
	if ok {
		rec.KeyID, rec.TeamID = known.keyID, known.teamID
		return ""
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil {
		return "InvalidProviderToken"
	}
	rec.KeyID, rec.TeamID = hdr.Kid, claims.Iss
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.keys) > 0 {
		pub := f.keys[hdr.Kid]
		if pub == nil || !verifyES256(pub, parts[0]+"."+parts[1], parts[2]) {
			return "InvalidProviderToken"
		}
	}
	if len(f.verified) > 1000 {
		clear(f.verified)
	}
	f.verified[jwt] = providerToken{keyID: hdr.Kid, teamID: claims.Iss}
	return ""
}

// providerToken is what the fake remembers of a provider token it accepted.
type providerToken struct{ keyID, teamID string }

func (f *APNs) record(rec APNsRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) < f.MaxRecorded {
		f.requests = append(f.requests, rec)
	}
}

// APNsStatus is the HTTP status Apple uses with a reason.
func APNsStatus(reason string) int {
	switch reason {
	case "":
		return http.StatusOK
	case "Unregistered", "ExpiredToken":
		return http.StatusGone
	case "PayloadTooLarge":
		return http.StatusRequestEntityTooLarge
	case "TooManyRequests", "TooManyProviderTokenUpdates":
		return http.StatusTooManyRequests
	case "InternalServerError":
		return http.StatusInternalServerError
	case "ServiceUnavailable", "Shutdown":
		return http.StatusServiceUnavailable
	case "BadCertificate", "BadCertificateEnvironment", "ExpiredProviderToken", "Forbidden",
		"InvalidProviderToken", "MissingProviderToken", "UnrelatedKeyIdInToken", "BadEnvironmentKeyInToken":
		return http.StatusForbidden
	case "BadPath":
		return http.StatusNotFound
	case "MethodNotAllowed":
		return http.StatusMethodNotAllowed
	default: // BadDeviceToken, MissingDeviceToken, DeviceTokenNotForTopic, BadTopic, ...
		return http.StatusBadRequest
	}
}

func apnsID(r *http.Request) string {
	if id := r.Header.Get("apns-id"); id != "" {
		return id
	}
	var b [16]byte
	sum := sha256.Sum256(fmt.Appendf(nil, "%d", time.Now().UnixNano()))
	copy(b[:], sum[:])
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// verifyES256 checks a JWS ES256 signature (r||s, 32 bytes each).
func verifyES256(pub *ecdsa.PublicKey, signed, sig string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(raw) != 64 {
		return false
	}
	h := sha256.Sum256([]byte(signed))
	return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:]))
}
