// Command fakepush serves a fake Apple APNs and a fake Google FCM (with its OAuth token
// endpoint) on loopback for local runs, demos and end-to-end tests. It writes a throw-away
// CA, credentials for both fakes and a relay configuration using them to --out, and lists
// what the fakes received at GET /requests on the admin address.
//
// Device tokens choose the answer: "bad-…" BadDeviceToken, "gone-…" Unregistered,
// "busy-…" 429 TooManyRequests, "down-…" 503 (APNs); "unregistered-…" UNREGISTERED,
// "mismatch-…" SENDER_ID_MISMATCH, "invalid-…" INVALID_ARGUMENT, "quota-…" QUOTA_EXCEEDED,
// "unavailable-…" UNAVAILABLE (FCM). Anything else is delivered.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/fake"
)

func main() {
	apnsAddr := flag.String("apns-addr", "127.0.0.1:8443", "fake APNs listen address (HTTPS, HTTP/2)")
	fcmAddr := flag.String("fcm-addr", "127.0.0.1:8444", "fake FCM and OAuth token endpoint listen address (HTTPS)")
	adminAddr := flag.String("admin-addr", "127.0.0.1:8445", "plain-HTTP address of GET /requests (what the fakes received)")
	relayListen := flag.String("relay-listen", "127.0.0.1:8066", "listen address written into the generated relay configuration")
	out := flag.String("out", "fakepush", "directory for the CA, credentials and relay.yaml")
	latency := flag.Duration("latency", 0, "delay every answer by this much")
	advertise := flag.String("advertise", "", "host (name or IP) the relay reaches the fakes at, e.g. a Service IP: "+
		"added to the serving certificates and used in the generated URLs instead of the listen address")
	flag.Parse()
	if err := run(*apnsAddr, *fcmAddr, *adminAddr, *relayListen, *out, *advertise, *latency); err != nil {
		fmt.Fprintln(os.Stderr, "fakepush:", err)
		os.Exit(1)
	}
}

func run(apnsAddr, fcmAddr, adminAddr, relayListen, out, advertise string, latency time.Duration) error {
	ca, err := fake.NewCA("fakepush CA")
	if err != nil {
		return err
	}
	var hosts []string
	if advertise != "" {
		hosts = append(hosts, advertise)
	}
	apns, err := fake.NewAPNs(apnsAddr, ca, hosts...)
	if err != nil {
		return fmt.Errorf("fake APNs: %w", err)
	}
	defer apns.Close()
	fcm, err := fake.NewFCM(fcmAddr, ca, hosts...)
	if err != nil {
		return fmt.Errorf("fake FCM: %w", err)
	}
	defer fcm.Close()
	apns.SetLatency(latency)
	fcm.SetLatency(latency)
	program(apns, fcm)

	cfgPath, err := writeFiles(out, ca, apns, fcm, relayListen, advertise)
	if err != nil {
		return err
	}
	admin := &http.Server{Addr: adminAddr, Handler: adminHandler(apns, fcm), ReadHeaderTimeout: 5 * time.Second}
	errs := make(chan error, 1)
	go func() { errs <- admin.ListenAndServe() }()
	log.Printf("fake APNs %s, fake FCM %s (token endpoint %s), received pushes at http://%s/requests",
		apns.URL(), fcm.URL(), fcm.TokenURL(), adminAddr)
	log.Printf("relay configuration: relay --config %s", cfgPath)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("admin endpoint: %w", err)
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return admin.Shutdown(shutdown)
}

// program sets the token-prefix conventions listed in the package doc.
func program(apns *fake.APNs, fcm *fake.FCM) {
	for prefix, reason := range map[string]string{
		"bad-": "BadDeviceToken", "gone-": "Unregistered", "busy-": "TooManyRequests", "down-": "ServiceUnavailable",
	} {
		apns.Program(fake.Rule{TokenPrefix: prefix, Reason: reason})
	}
	for prefix, code := range map[string]string{
		"unregistered-": "UNREGISTERED", "mismatch-": "SENDER_ID_MISMATCH", "invalid-": "INVALID_ARGUMENT",
		"quota-": "QUOTA_EXCEEDED", "unavailable-": "UNAVAILABLE",
	} {
		fcm.Program(fake.Rule{TokenPrefix: prefix, Reason: code})
	}
}

// writeFiles writes the CA, an APNs .p8 key, an APNs certificate, an FCM service account
// and a relay configuration using them (apple and apple_rn by token and certificate,
// android and android_rn by service account). It returns the configuration's path.
func writeFiles(out string, ca *fake.CA, apns *fake.APNs, fcm *fake.FCM, relayListen, advertise string) (string, error) {
	if err := os.MkdirAll(out, 0o700); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	path := func(name string) string { return filepath.Join(abs, name) }
	p8, key, err := fake.APNsAuthKey()
	if err != nil {
		return "", err
	}
	apns.TrustKey("FAKEKEY001", &key.PublicKey)
	certPEM, keyPEM, err := ca.ClientCertificatePEM("Apple Push Services: com.example.chat", 365*24*time.Hour)
	if err != nil {
		return "", err
	}
	apnsURL, fcmURL, tokenURL := advertised(apns.URL(), advertise), advertised(fcm.URL(), advertise), advertised(fcm.TokenURL(), advertise)
	sa, err := fake.NewServiceAccount("fakepush", tokenURL)
	if err != nil {
		return "", err
	}
	fcm.TrustServiceAccount(sa)
	cfg := config.Config{
		Listen: relayListen,
		Apps: []config.App{
			{Platform: "apple", Kind: config.AppKindApple, APNs: &config.APNs{Topic: "com.example.chat",
				AuthKeyFile: path("apns-key.p8"), KeyID: "FAKEKEY001", TeamID: "FAKETEAM01", Endpoint: apnsURL, CAFile: path("ca.pem")}},
			{Platform: "apple_rn", Kind: config.AppKindApple, APNs: &config.APNs{Topic: "com.example.chat",
				CertificateFile: path("apns-cert.pem"), Endpoint: apnsURL, CAFile: path("ca.pem")}},
			{Platform: "android", Kind: config.AppKindAndroid, FCM: &config.FCM{
				ServiceAccountFile: path("service-account.json"), Endpoint: fcmURL, CAFile: path("ca.pem")}},
			{Platform: "android_rn", Kind: config.AppKindAndroid, FCM: &config.FCM{
				ServiceAccountFile: path("service-account.json"), Endpoint: fcmURL, CAFile: path("ca.pem")}},
		},
	}
	rendered, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	for name, data := range map[string][]byte{
		"ca.pem": ca.CertPEM, "apns-key.p8": p8, "apns-cert.pem": append(certPEM, keyPEM...),
		"service-account.json": sa.JSON, "relay.yaml": rendered,
	} {
		if err := os.WriteFile(path(name), data, 0o600); err != nil {
			return "", err
		}
	}
	return path("relay.yaml"), nil
}

// advertised replaces the host of a fake's URL (its listen address) with host, keeping the
// port: a fake listening on 0.0.0.0 in a Pod is reached at its Service IP.
func advertised(rawURL, host string) string {
	if host == "" {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String()
}

// received is the GET /requests answer.
type received struct {
	APNs []fake.APNsRequest `json:"apns"`
	FCM  []fake.FCMRequest  `json:"fcm"`
}

func adminHandler(apns *fake.APNs, fcm *fake.FCM) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(received{APNs: orEmpty(apns.Requests()), FCM: orEmpty(fcm.Requests())})
	})
	mux.HandleFunc("DELETE /requests", func(w http.ResponseWriter, _ *http.Request) {
		apns.ClearRequests()
		fcm.ClearRequests()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "ok") })
	return mux
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
