package pushservice

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/relay/config"
)

func directPS() *pushv1alpha1.PushService {
	return &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: "chat"},
		Spec: pushv1alpha1.PushServiceSpec{
			Mode:          pushv1alpha1.PushModeDirect,
			ContentPolicy: pushv1alpha1.ContentPolicyGeneric,
			LogLevel:      pushv1alpha1.LogLevelInfo,
			Apps: []pushv1alpha1.PushApp{
				{Platform: "apple_rn", APNs: &pushv1alpha1.APNsApp{
					Topic: "com.example.chat", Environment: pushv1alpha1.APNsProduction,
					AuthKeySecretRef: &pushv1alpha1.APNsAuthKeyRef{Name: "apns", Key: "AuthKey_ABC.p8"},
					KeyID:            "ABCDEFGHIJ", TeamID: "TEAM123456",
					Endpoint: "https://apns.test:8443",
				}, CABundleSecretRef: &pushv1alpha1.SecretKeyRef{Name: "test-ca", Key: "ca.crt"}},
				{Platform: "apple_voip", APNs: &pushv1alpha1.APNsApp{
					Topic: "com.example.chat", VoIP: true,
					CertificateSecretRef: &pushv1alpha1.APNsCertificateRef{Name: "apns", Key: "voip.pem", PasswordKey: "voip-password"},
				}},
				{Platform: "android_rn", FCM: &pushv1alpha1.FCMApp{
					ServiceAccountSecretRef: pushv1alpha1.FCMServiceAccountRef{Name: "fcm"},
				}},
			},
		},
	}
}

func TestRelayConfigDirectMode(t *testing.T) {
	cfg := RelayConfig(directPS(), time.Now())
	want := []config.App{
		{Platform: "apple_rn", Kind: config.AppKindApple, APNs: &config.APNs{
			Topic: "com.example.chat", Environment: config.APNsProduction,
			AuthKeyFile: "/etc/push-relay/apps/apple_rn/authkey.p8", KeyID: "ABCDEFGHIJ", TeamID: "TEAM123456",
			Endpoint: "https://apns.test:8443", CAFile: "/etc/push-relay/apps/apple_rn/ca.crt",
		}},
		{Platform: "apple_voip", Kind: config.AppKindApple, APNs: &config.APNs{
			Topic: "com.example.chat", Environment: config.APNsProduction, VoIP: true,
			CertificateFile:         "/etc/push-relay/apps/apple_voip/certificate.pem",
			CertificatePasswordFile: "/etc/push-relay/apps/apple_voip/certificate.password",
		}},
		{Platform: "android_rn", Kind: config.AppKindAndroid, FCM: &config.FCM{
			ServiceAccountFile: "/etc/push-relay/apps/android_rn/service-account.json",
		}},
	}
	if !reflect.DeepEqual(cfg.Apps, want) {
		t.Errorf("apps:\n got %+v\nwant %+v", cfg.Apps, want)
	}
	if cfg.Listen != ":8066" || cfg.ContentPolicy != config.ContentGeneric || cfg.Forward != nil || cfg.TLS != nil {
		t.Errorf("listen %q policy %q forward %v tls %v", cfg.Listen, cfg.ContentPolicy, cfg.Forward, cfg.TLS)
	}
	if time.Duration(cfg.Timeouts.Send) != 30*time.Second || time.Duration(cfg.Timeouts.ShutdownDelay) != 5*time.Second {
		t.Errorf("default timeouts not written explicitly: %+v", cfg.Timeouts)
	}
}

func TestRelayConfigForwardModeAndCallerAuth(t *testing.T) {
	ps := &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: "chat"},
		Spec: pushv1alpha1.PushServiceSpec{
			Mode:       pushv1alpha1.PushModeForward,
			Forward:    &pushv1alpha1.ForwardSpec{EgressProxy: "http://proxy.corp:3128"},
			TLS:        &pushv1alpha1.RelayTLSSpec{SecretName: "push-tls", MinVersion: "1.3"},
			CallerAuth: &pushv1alpha1.CallerAuthSpec{AllowedServerIDs: []string{"abc"}, TokenSecretRef: &pushv1alpha1.SecretKeyRef{Name: "caller", Key: "token"}},
			Throttle:   &pushv1alpha1.ThrottleSpec{PerSecond: ptr.To[int32](50), VaryByHeader: "X-Forwarded-For"},
			Timeouts:   &pushv1alpha1.TimeoutsSpec{Send: "20s", ShutdownDelay: "10s"},
		},
	}
	cfg := RelayConfig(ps, time.Now())
	if cfg.Forward == nil || cfg.Forward.UpstreamURL != DefaultUpstreamURL {
		t.Errorf("forward = %+v, want the hosted upstream by default", cfg.Forward)
	}
	if cfg.TLS == nil || cfg.TLS.CertFile != "/etc/push-relay/tls/tls.crt" || cfg.TLS.MinVersion != "1.3" {
		t.Errorf("tls = %+v", cfg.TLS)
	}
	if cfg.CallerAuth.TokenFile != "/etc/push-relay/caller/token" || cfg.CallerAuth.ClientCAFile != "" || len(cfg.CallerAuth.AllowedServerIDs) != 1 {
		t.Errorf("callerAuth = %+v", cfg.CallerAuth)
	}
	if cfg.Throttle.PerSecond != 50 || cfg.Throttle.VaryByHeader != "X-Forwarded-For" {
		t.Errorf("throttle = %+v", cfg.Throttle)
	}
	d := Deployment(ps, "img", "h")
	if got := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; got != 10+20+drainMargin {
		t.Errorf("terminationGracePeriodSeconds = %d, want shutdownDelay+send+margin = %d", got, 10+20+drainMargin)
	}
	env := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["HTTPS_PROXY"] != "http://proxy.corp:3128" || !strings.Contains(env["NO_PROXY"], ".svc") {
		t.Errorf("proxy env = %v", env)
	}
	if p := d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet; p.Scheme != corev1.URISchemeHTTPS || p.Path != "/readyz" {
		t.Errorf("readiness probe = %+v, want HTTPS /readyz with tls", p)
	}
	np := NetworkPolicy(ps)
	var egressPorts []int32
	for _, p := range np.Spec.Egress[1].Ports {
		egressPorts = append(egressPorts, p.Port.IntVal)
	}
	if !reflect.DeepEqual(egressPorts, []int32{443, 3128}) {
		t.Errorf("egress ports = %v, want HTTPS and the proxy's 3128", egressPorts)
	}
}

func TestDebugUntilSwitchesBackByItself(t *testing.T) {
	ps := directPS()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ps.Spec.DebugUntil = &metav1.Time{Time: now.Add(time.Hour)}
	if level, until := EffectiveLogLevel(ps, now); level != pushv1alpha1.LogLevelDebug || !until.Equal(now.Add(time.Hour)) {
		t.Errorf("before debugUntil: %s until %s", level, until)
	}
	if got := RelayConfig(ps, now).Log.Level; got != "debug" {
		t.Errorf("config level before debugUntil = %q", got)
	}
	later := now.Add(time.Hour + time.Second)
	if level, until := EffectiveLogLevel(ps, later); level != pushv1alpha1.LogLevelInfo || !until.IsZero() {
		t.Errorf("after debugUntil: %s until %s", level, until)
	}
	_, h1, _ := RenderConfig(RelayConfig(ps, now))
	_, h2, _ := RenderConfig(RelayConfig(ps, later))
	if h1 == h2 {
		t.Error("the config hash did not change with the log level, pods would not pick it up")
	}
}

func TestRenderedConfigReadsBack(t *testing.T) {
	cfg := RelayConfig(directPS(), time.Now())
	data, hash, err := RenderConfig(cfg)
	if err != nil || len(hash) != 16 {
		t.Fatalf("render: hash %q err %v", hash, err)
	}
	var back config.Config
	if err := yaml.UnmarshalStrict(data, &back); err != nil {
		t.Fatalf("the relay could not read the rendered file: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", back, cfg)
	}
	if strings.Contains(string(data), "BEGIN") {
		t.Error("credential material in the config file")
	}
}

func TestDeploymentIsRestrictedAndMountsEveryCredential(t *testing.T) {
	ps := directPS()
	d := Deployment(ps, "ghcr.io/pushops/push-relay:v1", "abc")
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*sc.RunAsNonRoot ||
		!reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext not restricted: %+v", sc)
	}
	if *pod.AutomountServiceAccountToken {
		t.Error("the relay needs no API token but gets one")
	}
	if c.Image != "ghcr.io/pushops/push-relay:v1" || d.Spec.Template.Annotations[ConfigHashAnnotation] != "abc" {
		t.Errorf("image %q, annotations %v", c.Image, d.Spec.Template.Annotations)
	}
	if *d.Spec.Replicas != DefaultReplicas || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntVal != 0 {
		t.Errorf("replicas %d maxUnavailable %v", *d.Spec.Replicas, d.Spec.Strategy.RollingUpdate.MaxUnavailable)
	}
	if !c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].MountPath != ConfigDir {
		t.Errorf("mount = %+v", c.VolumeMounts[0])
	}
	files := map[string]string{}
	for _, src := range pod.Volumes[0].Projected.Sources {
		switch {
		case src.ConfigMap != nil:
			for _, it := range src.ConfigMap.Items {
				files[it.Path] = "configmap/" + src.ConfigMap.Name + "/" + it.Key
			}
		case src.Secret != nil:
			for _, it := range src.Secret.Items {
				files[it.Path] = src.Secret.Name + "/" + it.Key
			}
		}
	}
	want := map[string]string{
		"relay.yaml":                           "configmap/push-config/relay.yaml",
		"apps/apple_rn/authkey.p8":             "apns/AuthKey_ABC.p8",
		"apps/apple_rn/ca.crt":                 "test-ca/ca.crt",
		"apps/apple_voip/certificate.pem":      "apns/voip.pem",
		"apps/apple_voip/certificate.password": "apns/voip-password",
		"apps/android_rn/service-account.json": "fcm/service-account.json",
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("projected files:\n got %v\nwant %v", files, want)
	}
	// Every file the config names must be one the volume provides.
	cfg := RelayConfig(ps, time.Now())
	for _, a := range cfg.Apps {
		for _, p := range []string{fileIfAPNs(a, true), fileIfAPNs(a, false), fcmFile(a)} {
			if p != "" {
				if _, ok := files[strings.TrimPrefix(p, ConfigDir+"/")]; !ok {
					t.Errorf("config names %s, which is not mounted", p)
				}
			}
		}
	}
}

func fileIfAPNs(a config.App, key bool) string {
	if a.APNs == nil {
		return ""
	}
	if key {
		return a.APNs.AuthKeyFile + a.APNs.CertificateFile
	}
	return a.APNs.CAFile + a.APNs.CertificatePasswordFile
}

func fcmFile(a config.App) string {
	if a.FCM == nil {
		return ""
	}
	return a.FCM.ServiceAccountFile
}

func TestReplicasBudgetAndAutoscaler(t *testing.T) {
	cases := []struct {
		name     string
		mutate   func(*pushv1alpha1.PushServiceSpec)
		replicas *int32
		pdb, hpa bool
	}{
		{"default", func(*pushv1alpha1.PushServiceSpec) {}, ptr.To[int32](2), true, false},
		{"one replica: no budget that would block drains", func(s *pushv1alpha1.PushServiceSpec) { s.Replicas = ptr.To[int32](1) }, ptr.To[int32](1), false, false},
		{"autoscaling: the HPA owns replicas", func(s *pushv1alpha1.PushServiceSpec) {
			s.Autoscaling = &pushv1alpha1.AutoscalingSpec{MaxReplicas: 5}
		}, nil, true, true},
		{"suspended: zero pods, no HPA, no budget", func(s *pushv1alpha1.PushServiceSpec) {
			s.Suspend = true
			s.Autoscaling = &pushv1alpha1.AutoscalingSpec{MaxReplicas: 5}
		}, ptr.To[int32](0), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := directPS()
			tc.mutate(&ps.Spec)
			if got := Deployment(ps, "i", "h").Spec.Replicas; !reflect.DeepEqual(got, tc.replicas) {
				t.Errorf("replicas = %v, want %v", ptr.Deref(got, -1), ptr.Deref(tc.replicas, -1))
			}
			if got := PodDisruptionBudget(ps) != nil; got != tc.pdb {
				t.Errorf("budget = %v, want %v", got, tc.pdb)
			}
			if got := HorizontalPodAutoscaler(ps) != nil; got != tc.hpa {
				t.Errorf("autoscaler = %v, want %v", got, tc.hpa)
			}
		})
	}
	ps := directPS()
	ps.Spec.Autoscaling = &pushv1alpha1.AutoscalingSpec{MaxReplicas: 5}
	hpa := HorizontalPodAutoscaler(ps)
	if *hpa.Spec.MinReplicas != 2 || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 || hpa.Spec.ScaleTargetRef.Name != "push" {
		t.Errorf("hpa spec = %+v", hpa.Spec)
	}
}

func TestExposure(t *testing.T) {
	ps := directPS()
	if got := Endpoint(ps); got != "http://push.chat.svc:8066" {
		t.Errorf("endpoint without ingress = %q", got)
	}
	if Ingress(ps) != nil || ServiceMonitor(ps) != nil {
		t.Error("optional children built without being asked for")
	}
	ps.Spec.Ingress = &pushv1alpha1.IngressSpec{Host: "push.example.com", ClassName: ptr.To("nginx"),
		TLS: pushv1alpha1.IngressTLS{IssuerRef: &pushv1alpha1.IngressIssuerRef{Name: "letsencrypt", Kind: "ClusterIssuer"}}}
	ing := Ingress(ps)
	if ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" || ing.Spec.TLS[0].SecretName != "push-tls" ||
		ing.Spec.Rules[0].Host != "push.example.com" || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingress = %+v", ing)
	}
	if got := Endpoint(ps); got != "https://push.example.com" {
		t.Errorf("endpoint with ingress = %q", got)
	}
	ps.Spec.Metrics = &pushv1alpha1.MetricsSpec{ServiceMonitor: &pushv1alpha1.ServiceMonitorSpec{Enabled: true, Interval: "30s", Labels: map[string]string{"release": "prom"}}}
	sm := ServiceMonitor(ps)
	if sm.GetKind() != "ServiceMonitor" || sm.GetLabels()["release"] != "prom" {
		t.Errorf("service monitor = %v", sm.Object)
	}
	np := NetworkPolicy(ps)
	peer := np.Spec.Ingress[0].From[0].NamespaceSelector.MatchExpressions[0]
	if !reflect.DeepEqual(peer.Values, []string{"chat"}) {
		t.Errorf("default callers = %v, want the own namespace", peer.Values)
	}
	// The APNs endpoint override on port 8443 must be reachable.
	var ports []int32
	for _, p := range np.Spec.Egress[1].Ports {
		ports = append(ports, p.Port.IntVal)
	}
	if !reflect.DeepEqual(ports, []int32{443, 8443}) {
		t.Errorf("egress ports = %v", ports)
	}
	ps.Spec.NetworkPolicy = &pushv1alpha1.NetworkPolicySpec{Enabled: ptr.To(false)}
	if NetworkPolicy(ps) != nil {
		t.Error("network policy built although disabled")
	}
}

// The relay's own loader (defaults + validation) accepts every configuration the operator
// renders: the contract between the two, checked from this side.
func TestRelayAcceptsTheRenderedConfig(t *testing.T) {
	forward := &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: "chat"},
		Spec: pushv1alpha1.PushServiceSpec{
			Mode:       pushv1alpha1.PushModeForward,
			Forward:    &pushv1alpha1.ForwardSpec{UpstreamURL: "https://push.example.com", CABundleSecretRef: &pushv1alpha1.SecretKeyRef{Name: "ca", Key: "ca.crt"}},
			TLS:        &pushv1alpha1.RelayTLSSpec{SecretName: "tls", MinVersion: "1.2"},
			CallerAuth: &pushv1alpha1.CallerAuthSpec{AllowedServerIDs: []string{"s1"}, TokenSecretRef: &pushv1alpha1.SecretKeyRef{Name: "t", Key: "token"}, ClientCASecretRef: &pushv1alpha1.SecretKeyRef{Name: "t", Key: "ca"}},
			Throttle:   &pushv1alpha1.ThrottleSpec{PerSecond: ptr.To[int32](10), Burst: ptr.To[int32](20)},
			Timeouts:   &pushv1alpha1.TimeoutsSpec{PerTry: "2s", Send: "10s", ShutdownDelay: "1s"},
			LogLevel:   pushv1alpha1.LogLevelError,
		},
	}
	for name, ps := range map[string]*pushv1alpha1.PushService{"direct": directPS(), "forward with everything": forward} {
		t.Run(name, func(t *testing.T) {
			data, _, err := RenderConfig(RelayConfig(ps, time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := config.Parse(data); err != nil {
				t.Fatalf("the relay refuses the rendered config: %v\n%s", err, data)
			}
		})
	}
}

// BenchmarkDesiredObjects is the pure part of one reconcile: render the config and build
// every child.
func BenchmarkDesiredObjects(b *testing.B) {
	ps := directPS()
	ps.Spec.Ingress = &pushv1alpha1.IngressSpec{Host: "push.example.com", TLS: pushv1alpha1.IngressTLS{SecretName: "t"}}
	now := time.Now()
	for b.Loop() {
		data, hash, err := RenderConfig(RelayConfig(ps, now))
		if err != nil {
			b.Fatal(err)
		}
		_ = ConfigMap(ps, data)
		_ = Deployment(ps, DefaultRelayImage, hash)
		_, _, _, _ = Service(ps), Ingress(ps), PodDisruptionBudget(ps), NetworkPolicy(ps)
	}
}
