package fcm

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"github.com/go-logr/logr"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
	"google.golang.org/api/option"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/egress"
	"github.com/pushops/push-operator/relay/metrics"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/retry"
)

// scope is the OAuth scope of the FCM HTTP v1 API.
const scope = "https://www.googleapis.com/auth/firebase.messaging"

// tokenFetchTimeout bounds one OAuth token fetch (about one per hour per app).
const tokenFetchTimeout = 10 * time.Second

// defaultTokenURL is Google's token endpoint, for service-account files without token_uri.
const defaultTokenURL = "https://oauth2.googleapis.com/token"

// Options are the sender's tunables beyond the app's configuration.
type Options struct {
	Retry   retry.Policy
	Proxy   egress.ProxyFunc
	Metrics *metrics.Metrics
	Log     logr.Logger
}

// Sender delivers one app's pushes to FCM.
type Sender struct {
	platform  string
	client    *messaging.Client
	transport *http.Transport
	opts      Options
}

// serviceAccount is what the relay reads from the service-account JSON.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// New reads the service account and builds the app's FCM client. OAuth tokens come from
// the account's token_uri and API calls go to c.Endpoint (when set), both through the
// egress proxy and trusting c.CAFile.
func New(ctx context.Context, platform string, c *config.FCM, o Options) (*Sender, error) {
	if c == nil || c.ServiceAccountFile == "" {
		return nil, errors.New("fcm.serviceAccountFile is empty")
	}
	sa, err := readServiceAccount(c.ServiceAccountFile)
	if err != nil {
		return nil, err
	}
	tr, err := egress.Transport(egress.Options{Proxy: o.Proxy, CAFile: c.CAFile})
	if err != nil {
		return nil, err
	}
	jc := &jwt.Config{
		Email:        sa.ClientEmail,
		PrivateKey:   []byte(sa.PrivateKey),
		PrivateKeyID: sa.PrivateKeyID,
		Scopes:       []string{scope},
		TokenURL:     sa.TokenURI,
	}
	// The token source fetches tokens with the egress transport (proxy, CA) too. It
	// outlives New, so it gets its own context rather than the caller's; and since a fetch
	// cannot see the send's context, its own timeout bounds how long sends wait for it.
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: tr, Timeout: tokenFetchTimeout})
	hc := &http.Client{Transport: &authTransport{source: jc.TokenSource(tokenCtx), base: tr}}
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if c.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(c.Endpoint))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: sa.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the Firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating the FCM client: %w", err)
	}
	return &Sender{platform: platform, client: client, transport: tr, opts: o}, nil
}

func readServiceAccount(file string) (*serviceAccount, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading service account: %w", err)
	}
	var sa serviceAccount
	if err := json.Unmarshal(b, &sa); err != nil {
		return nil, fmt.Errorf("service account %s is not JSON: %w", file, err)
	}
	switch {
	case sa.Type != "" && sa.Type != "service_account":
		return nil, fmt.Errorf("%s is a %q credential, not a service account key", file, sa.Type)
	case sa.ProjectID == "" || sa.ClientEmail == "" || sa.PrivateKey == "":
		return nil, fmt.Errorf("service account %s lacks project_id, client_email or private_key", file)
	}
	if err := checkPrivateKey(sa.PrivateKey); err != nil {
		return nil, fmt.Errorf("service account %s: %w", file, err)
	}
	if sa.TokenURI == "" {
		sa.TokenURI = defaultTokenURL
	}
	return &sa, nil
}

// checkPrivateKey parses the account's key now, so a damaged key makes the app not ready
// instead of failing every send.
func checkPrivateKey(key string) error {
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		return errors.New("private_key is not PEM")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		return fmt.Errorf("private_key is not an RSA key: %w", err)
	}
	return nil
}

// Close releases idle connections; in-flight sends finish.
func (s *Sender) Close() { s.transport.CloseIdleConnections() }

// Send delivers n, retrying INTERNAL, QUOTA_EXCEEDED, UNAVAILABLE, transport errors and
// timeouts within ctx's deadline. (The SDK itself also retries 503 and network errors
// right away once; further retries back off here.)
func (s *Sender) Send(ctx context.Context, n *push.Notification) push.Result {
	msg := Message(n)
	onRetry := func() { s.opts.Metrics.Retries.WithLabelValues(s.platform, "fcm").Inc() }
	return s.opts.Retry.Run(ctx, onRetry, func(ctx context.Context) (push.Result, bool) {
		start := time.Now()
		_, err := s.client.Send(ctx, msg)
		s.opts.Metrics.FCMRequestDuration.WithLabelValues(s.platform).Observe(time.Since(start).Seconds())
		if err == nil {
			return push.Result{Status: push.StatusOK}, false
		}
		res, retryable := judge(err)
		s.opts.Log.V(1).Info("FCM send failed", "platform", s.platform, "device", egress.ShortToken(n.DeviceID),
			"reason", res.Reason, "error", egress.Describe(err))
		return res, retryable
	})
}

// judge maps an FCM error to a result and whether to try again.
func judge(err error) (push.Result, bool) {
	fail := func(reason string) push.Result { return push.Result{Status: push.StatusFail, Reason: reason} }
	switch {
	case messaging.IsUnregistered(err):
		return push.Result{Status: push.StatusRemove, Reason: "UNREGISTERED"}, false
	case messaging.IsSenderIDMismatch(err):
		return push.Result{Status: push.StatusRemove, Reason: "SENDER_ID_MISMATCH"}, false
	case messaging.IsInternal(err) || errorutils.IsInternal(err):
		return fail("INTERNAL"), true
	case messaging.IsQuotaExceeded(err) || errorutils.IsResourceExhausted(err):
		return fail("QUOTA_EXCEEDED"), true
	case messaging.IsUnavailable(err) || errorutils.IsUnavailable(err):
		return fail("UNAVAILABLE"), true
	case messaging.IsInvalidArgument(err) || errorutils.IsInvalidArgument(err):
		return fail("INVALID_ARGUMENT"), false
	case messaging.IsThirdPartyAuthError(err):
		return fail("THIRD_PARTY_AUTH_ERROR"), false
	case errorutils.IsUnauthenticated(err):
		return fail("UNAUTHENTICATED"), false
	case errorutils.IsPermissionDenied(err):
		return fail("PERMISSION_DENIED"), false
	case errorutils.IsNotFound(err):
		return fail("NOT_FOUND"), false
	case errorutils.IsDeadlineExceeded(err) || errors.Is(err, context.DeadlineExceeded):
		return fail("timeout"), true
	}
	if errorutils.HTTPResponse(err) != nil {
		return fail("UNKNOWN"), false
	}
	// No HTTP answer: a transport error (connection refused or reset, TLS, token fetch).
	return fail(egress.ErrorKind(err)), true
}
