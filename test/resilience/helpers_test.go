package resilience

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers"
	"github.com/pushops/push-operator/internal/certcheck/certtest"
	"github.com/pushops/push-operator/internal/credentials/credtest"
)

const timeout = 30 * time.Second

// eventually polls check until it returns nil, failing the test with the last error.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	eventuallyWithin(t, timeout, check)
}

// longEventually is for recoveries paced by client-go's watch backoff.
func longEventually(t *testing.T, check func() error) {
	t.Helper()
	eventuallyWithin(t, 2*timeout, check)
}

func eventuallyWithin(t *testing.T, limit time.Duration, check func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, limit, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("condition not reached within %s: %v", limit, last)
	}
}

// manager is one running operator: the shipped options and controllers, a client that
// counts this manager's writes, and a way to stop it as a crash or a rollout would.
type manager struct {
	mgr  ctrl.Manager
	kill context.CancelFunc // cancels the manager's context; set before it starts
	done chan error
	// exited is set once done was read; only the test's goroutine touches it.
	exited bool
	writes atomic.Int64
	// killAt, when positive, stops the manager from inside its client as that write is
	// about to be sent: a crash in the middle of a convergence.
	killAt atomic.Int64
}

// startManager starts a manager; tweak adjusts the shipped options (leader election).
// The test's cleanup stops it if the test did not.
func startManager(t *testing.T, tweak func(*ctrl.Options)) *manager {
	t.Helper()
	m := &manager{done: make(chan error, 1)}
	options := controllers.ManagerOptions(scheme)
	options.Metrics = metricsserver.Options{BindAddress: "0"}
	options.HealthProbeBindAddress = "0"
	// Several managers live in this one process over the suite.
	options.Controller.SkipNameValidation = ptr.To(true)
	options.NewClient = func(cfg *rest.Config, opts client.Options) (client.Client, error) {
		c, err := client.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		return &countingClient{Client: c, m: m}, nil
	}
	if tweak != nil {
		tweak(&options)
	}
	mgr, err := ctrl.NewManager(controllers.TuneRESTConfig(cfg), options)
	if err != nil {
		t.Fatalf("creating a manager: %v", err)
	}
	if err := controllers.SetupWithManager(mgr); err != nil {
		t.Fatalf("setting up the controllers: %v", err)
	}
	m.mgr = mgr
	runCtx, kill := context.WithCancel(context.Background())
	m.kill = kill
	go func() { m.done <- mgr.Start(runCtx) }()
	t.Cleanup(func() { m.stop(t) })
	return m
}

// stop cancels the manager's context, as SIGTERM does, and checks it exited cleanly.
func (m *manager) stop(t *testing.T) {
	t.Helper()
	m.kill()
	m.wait(t)
}

func (m *manager) wait(t *testing.T) {
	t.Helper()
	if m.exited {
		return
	}
	select {
	case err := <-m.done:
		m.exited = true
		if err != nil {
			t.Errorf("manager exited with an error: %v", err)
		}
	case <-time.After(timeout):
		t.Errorf("manager did not stop within %s", timeout)
	}
}

// running fails the test if the manager has exited.
func (m *manager) running(t *testing.T) {
	t.Helper()
	if m.exited {
		t.Fatal("the manager has exited")
	}
	select {
	case err := <-m.done:
		m.exited = true
		t.Fatalf("the manager exited: %v", err)
	default:
	}
}

type countingClient struct {
	client.Client
	m *manager
}

func (c *countingClient) count() {
	n := c.m.writes.Add(1)
	if k := c.m.killAt.Load(); k > 0 && n >= k {
		c.m.kill()
	}
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.count()
	return c.Client.Create(ctx, obj, opts...)
}
func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.count()
	return c.Client.Update(ctx, obj, opts...)
}
func (c *countingClient) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
	c.count()
	return c.Client.Patch(ctx, obj, p, opts...)
}
func (c *countingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	c.count()
	return c.Client.Apply(ctx, obj, opts...)
}
func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.count()
	return c.Client.Delete(ctx, obj, opts...)
}
func (c *countingClient) Status() client.SubResourceWriter {
	return &countingStatus{SubResourceWriter: c.Client.Status(), c: c}
}

type countingStatus struct {
	client.SubResourceWriter
	c *countingClient
}

func (w *countingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	w.c.count()
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}
func (w *countingStatus) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	w.c.count()
	return w.SubResourceWriter.Patch(ctx, obj, p, opts...)
}

// A tenant is a namespace with a PushService "push" (APNs token key, FCM service account)
// and a MobileProxy "chat" exposed by an Ingress with a TLS Secret from a private CA.
const (
	pushName  = "push"
	proxyName = "chat"
	chatHost  = "chat.example.com"
)

// material is generated once: keys are the slow part and every tenant may share them.
var material = func() struct{ apns, sa, ca, cert, key []byte } {
	root := certtest.NewRoot("Resilience Root")
	leaf := root.Issue([]string{chatHost}, certtest.Options{})
	return struct{ apns, sa, ca, cert, key []byte }{
		credtest.APNsAuthKey(), credtest.ServiceAccountJSON("resilience"), root.PEM,
		certtest.Chain(leaf.CertPEM, root.PEM), leaf.KeyPEM,
	}
}()

func apnsSecret(ns string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "apns", Namespace: ns}, Data: map[string][]byte{"authkey.p8": material.apns}}
}

func tlsSecret(ns string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "chat-tls", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: material.cert, corev1.TLSPrivateKeyKey: material.key}}
}

// newTenantNamespace creates a namespace with the tenant's inputs but no custom resources.
func newTenantNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tenant-"}}
	mustCreate(t, ns)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns.Name} }
	mustCreate(t, apnsSecret(ns.Name))
	mustCreate(t, &corev1.Secret{ObjectMeta: meta("fcm"), Data: map[string][]byte{"service-account.json": material.sa}})
	mustCreate(t, tlsSecret(ns.Name))
	mustCreate(t, &corev1.ConfigMap{ObjectMeta: meta("trusted-roots"), Data: map[string]string{"ca.crt": string(material.ca)}})
	mustCreate(t, &corev1.Service{ObjectMeta: meta("mattermost"), Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "mattermost"}, Ports: []corev1.ServicePort{{Name: "http", Port: 8065}},
	}})
	return ns.Name
}

// createResources creates the tenant's PushService and MobileProxy.
func createResources(t *testing.T, ns string) {
	t.Helper()
	mustCreate(t, &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: pushName, Namespace: ns},
		Spec: pushv1alpha1.PushServiceSpec{Apps: []pushv1alpha1.PushApp{
			{Platform: "apple_rn", APNs: &pushv1alpha1.APNsApp{
				Topic: "com.example.chat", KeyID: "ABCDEFGHIJ", TeamID: "TEAM123456",
				AuthKeySecretRef: &pushv1alpha1.APNsAuthKeyRef{Name: "apns"},
			}},
			{Platform: "android_rn", FCM: &pushv1alpha1.FCMApp{ServiceAccountSecretRef: pushv1alpha1.FCMServiceAccountRef{Name: "fcm"}}},
		}},
	})
	mustCreate(t, &pushv1alpha1.MobileProxy{
		ObjectMeta: metav1.ObjectMeta{Name: proxyName, Namespace: ns},
		Spec: pushv1alpha1.MobileProxySpec{
			Host:    chatHost,
			Backend: &pushv1alpha1.MobileProxyBackend{ServiceName: "mattermost"},
			TLS:     pushv1alpha1.MobileProxyTLS{SecretName: "chat-tls", TrustedCABundle: &pushv1alpha1.ConfigMapKeyRef{Name: "trusted-roots"}},
			Exposure: pushv1alpha1.MobileProxyExposure{
				Type:    pushv1alpha1.ExposureIngress,
				Ingress: &pushv1alpha1.IngressExposure{ClassName: "nginx", Profile: pushv1alpha1.ProfileGeneric},
			},
		},
	})
}

func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// converged says whether the tenant's PushService and MobileProxy describe their current
// generation with valid credentials and certificate and all their children exist (there is
// no kubelet or Ingress controller here, so Ready stays False by design).
func converged(ns string) error {
	var ps pushv1alpha1.PushService
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushName}, &ps); err != nil {
		return err
	}
	if err := conditionCurrent(ps.Status.Conditions, pushv1alpha1.ConditionCredentialsValid, ps.Generation, ps.Status.ObservedGeneration, metav1.ConditionTrue); err != nil {
		return fmt.Errorf("PushService: %w", err)
	}
	var mp pushv1alpha1.MobileProxy
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: proxyName}, &mp); err != nil {
		return err
	}
	if err := conditionCurrent(mp.Status.Conditions, pushv1alpha1.MobileProxyCertificateValid, mp.Generation, mp.Status.ObservedGeneration, metav1.ConditionTrue); err != nil {
		return fmt.Errorf("MobileProxy: %w", err)
	}
	for _, c := range []client.Object{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: pushName + "-config"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: pushName}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: pushName}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: proxyName}}} {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: c.GetName()}, c); err != nil {
			return fmt.Errorf("child %T %s: %w", c, c.GetName(), err)
		}
	}
	return nil
}

func conditionCurrent(conds []metav1.Condition, typ string, generation, observed int64, want metav1.ConditionStatus) error {
	c := meta.FindStatusCondition(conds, typ)
	switch {
	case observed != generation:
		return fmt.Errorf("observedGeneration %d, generation %d", observed, generation)
	case c == nil:
		return fmt.Errorf("no %s condition", typ)
	case c.ObservedGeneration != generation || c.Status != want:
		return fmt.Errorf("%s is %s/%s (%s) for generation %d, want %s for %d", typ, c.Status, c.Reason, c.Message, c.ObservedGeneration, want, generation)
	}
	return nil
}

// conditionIs checks one condition of the tenant's PushService (kind "PushService") or
// MobileProxy for its current generation.
func conditionIs(ns, kind, typ string, status metav1.ConditionStatus, reason string) func() error {
	return func() error {
		var conds []metav1.Condition
		var generation int64
		if kind == "PushService" {
			var ps pushv1alpha1.PushService
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushName}, &ps); err != nil {
				return err
			}
			conds, generation = ps.Status.Conditions, ps.Generation
		} else {
			var mp pushv1alpha1.MobileProxy
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: proxyName}, &mp); err != nil {
				return err
			}
			conds, generation = mp.Status.Conditions, mp.Generation
		}
		c := meta.FindStatusCondition(conds, typ)
		if c == nil || c.Status != status || c.Reason != reason || c.ObservedGeneration != generation {
			return fmt.Errorf("%s %s is %+v, want %s/%s at generation %d", kind, typ, c, status, reason, generation)
		}
		return nil
	}
}
