// Package metrics defines the relay's Prometheus metrics: the reference push proxy's names
// (so existing dashboards keep working) and the relay's own, prefixed relay_.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label names.
const (
	LabelPlatform  = "platform"
	LabelType      = "type"
	LabelReason    = "reason"
	LabelTransport = "transport" // apns | fcm | forward
	LabelAppVer    = "app_version"
)

// Metrics is one set of relay metrics registered with one registry, so tests can create
// as many as they like.
type Metrics struct {
	Registry *prometheus.Registry

	// Reference names.
	Notifications          *prometheus.CounterVec   // platform, type
	NotificationsByAppVer  *prometheus.CounterVec   // platform, type, app_version
	Success                *prometheus.CounterVec   // platform, type
	SuccessWithAck         *prometheus.CounterVec   // platform, type
	Delivered              *prometheus.CounterVec   // platform, type (acks)
	Failure                *prometheus.CounterVec   // platform, type
	FailureWithReason      *prometheus.CounterVec   // platform, type, reason
	Removal                *prometheus.CounterVec   // platform, reason
	BadRequest             prometheus.Counter       //
	APNsRequestDuration    *prometheus.HistogramVec // platform
	FCMRequestDuration     *prometheus.HistogramVec // platform
	RequestDuration        prometheus.Histogram     // whole HTTP request
	NotificationDuration   *prometheus.HistogramVec // platform, type
	ForwardRequestDuration *prometheus.HistogramVec // platform

	// The relay's own.
	InFlight             prometheus.Gauge
	Retries              *prometheus.CounterVec // platform, transport
	Throttled            prometheus.Counter
	AuthRejections       *prometheus.CounterVec // reason
	CredentialExpiry     *prometheus.GaugeVec   // platform: unix seconds of the certificate's notAfter
	CredentialReloads    *prometheus.CounterVec // platform, result (ok|error)
	AppReady             *prometheus.GaugeVec   // platform: 1 when its client is initialised
	EnvironmentMismatch  *prometheus.GaugeVec   // platform: 1 while the sandbox/production guard trips
	ContentPolicyApplied *prometheus.CounterVec // policy
}

// New creates and registers every metric with a new registry (plus Go and process
// collectors).
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := factory{r}
	pt := []string{LabelPlatform, LabelType}
	m := &Metrics{
		Registry:               r,
		Notifications:          f.counter("service_notifications_total", "Push notifications received.", pt...),
		NotificationsByAppVer:  f.counter("service_notifications_by_app_version_total", "Push notifications received by app version.", LabelPlatform, LabelType, LabelAppVer),
		Success:                f.counter("service_success_total", "Push notifications delivered to APNs/FCM/upstream.", pt...),
		SuccessWithAck:         f.counter("service_success_with_ack_total", "Delivered push notifications that carried an ack_id.", pt...),
		Delivered:              f.counter("service_delivered_total", "Push notifications acknowledged by the device (acks).", pt...),
		Failure:                f.counter("service_failure_total", "Push notifications that failed.", pt...),
		FailureWithReason:      f.counter("service_failure_with_reason_total", "Push notifications that failed, by reason.", LabelPlatform, LabelType, LabelReason),
		Removal:                f.counter("service_removal_total", "Device tokens reported dead (REMOVE).", LabelPlatform, LabelReason),
		BadRequest:             f.plainCounter("service_bad_request_total", "Requests rejected as malformed."),
		APNsRequestDuration:    f.histogram("service_apns_request_duration_seconds", "Duration of APNs requests.", LabelPlatform),
		FCMRequestDuration:     f.histogram("service_fcm_request_duration_seconds", "Duration of FCM requests.", LabelPlatform),
		RequestDuration:        f.plainHistogram("service_request_duration_seconds", "Duration of push API requests."),
		NotificationDuration:   f.histogram("service_notification_duration_seconds", "Duration of a whole send, retries included.", pt...),
		ForwardRequestDuration: f.histogram("relay_forward_request_duration_seconds", "Duration of requests to the upstream push service.", LabelPlatform),

		InFlight:             f.gauge("relay_in_flight_sends", "Sends in progress."),
		Retries:              f.counter("relay_retries_total", "Delivery attempts retried.", LabelPlatform, LabelTransport),
		Throttled:            f.plainCounter("relay_throttled_total", "Requests refused with 429 by the per-caller throttle."),
		AuthRejections:       f.counter("relay_auth_rejections_total", "Requests refused by caller authentication.", LabelReason),
		CredentialExpiry:     f.gaugeVec("relay_credential_expiry_timestamp_seconds", "Not-after of an app's APNs certificate, as a Unix time.", LabelPlatform),
		CredentialReloads:    f.counter("relay_credential_reloads_total", "Credential reloads after a file change.", LabelPlatform, "result"),
		AppReady:             f.gaugeVec("relay_app_ready", "1 when the app's push client is initialised, else 0.", LabelPlatform),
		EnvironmentMismatch:  f.gaugeVec("relay_apns_environment_mismatch", "1 while the sandbox/production guard holds back REMOVE answers.", LabelPlatform),
		ContentPolicyApplied: f.counter("relay_content_policy_applied_total", "Notifications whose content the content ceiling reduced.", "policy"),
	}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

type factory struct{ r prometheus.Registerer }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.r.MustRegister(c)
	return c
}

func (f factory) plainCounter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.r.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: prometheus.DefBuckets}, labels)
	f.r.MustRegister(h)
	return h
}

func (f factory) plainHistogram(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: prometheus.DefBuckets})
	f.r.MustRegister(h)
	return h
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.r.MustRegister(g)
	return g
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.r.MustRegister(g)
	return g
}
