package fcm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"golang.org/x/oauth2"
)

// authTransport adds the service account's OAuth token to FCM calls. When Google's token
// endpoint refuses the account (revoked or deleted key), it answers the call itself with
// a 401 as FCM would: the SDK then fails fast with UNAUTHENTICATED instead of retrying
// what looks like a network error for seconds.
type authTransport struct {
	source oauth2.TokenSource
	base   http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.source.Token()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		var refused *oauth2.RetrieveError
		if errors.As(err, &refused) {
			return refusedResponse(req, refused), nil
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	tok.SetAuthHeader(r)
	return t.base.RoundTrip(r)
}

func refusedResponse(req *http.Request, e *oauth2.RetrieveError) *http.Response {
	msg := "the OAuth token endpoint refused the service account"
	if e.ErrorCode != "" {
		msg += ": " + e.ErrorCode
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": http.StatusUnauthorized, "status": "UNAUTHENTICATED", "message": msg,
	}})
	return &http.Response{
		Status:     "401 Unauthorized",
		StatusCode: http.StatusUnauthorized,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
