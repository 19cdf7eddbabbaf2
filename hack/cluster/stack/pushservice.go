package stack

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pushops/push-operator/hack/cluster/localcluster"
)

// indent indents every line of a PEM or JSON document for a YAML block scalar.
func indent(b []byte, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(string(b), "\n"), "\n", "\n"+pad)
}

// CreateAppNamespace creates the chat namespace under Pod Security `restricted` (enforced,
// so a relay pod that is not restricted is refused) and the credential Secrets.
func (s *Stack) CreateAppNamespace(ctx context.Context, c *Creds) error {
	return s.Apply(ctx, appNamespaceYAML(c))
}

func appNamespaceYAML(c *Creds) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
---
apiVersion: v1
kind: Secret
metadata: {name: apns-key, namespace: %[1]s}
stringData:
  authkey.p8: |
%[2]s
---
apiVersion: v1
kind: Secret
metadata: {name: fcm, namespace: %[1]s}
stringData:
  service-account.json: |
%[3]s
---
apiVersion: v1
kind: Secret
metadata: {name: fakepush-ca, namespace: %[1]s}
stringData:
  ca.crt: |
%[4]s
`, AppNamespace, indent(c.APNsKey, 4), indent(c.ServiceAccount, 4), indent(c.CA, 4))
}

// PushServiceYAML is a PushService for apple (APNs token auth) and android (FCM) that
// delivers to the fakes through the per-app endpoint overrides and trusts their CA.
func PushServiceYAML(name string, replicas int, logLevel string) string {
	return fmt.Sprintf(`apiVersion: push.pushops.dev/v1alpha1
kind: PushService
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  mode: direct
  replicas: %[3]d
  logLevel: %[4]s
  image: %[5]s
  imagePullPolicy: Never
  apps:
  - platform: apple
    apns:
      topic: %[6]s
      authKeySecretRef: {name: apns-key}
      keyID: %[7]s
      teamID: %[8]s
      endpoint: https://%[9]s:8443
    caBundleSecretRef: {name: fakepush-ca, key: ca.crt}
  - platform: android
    fcm:
      serviceAccountSecretRef: {name: fcm}
      endpoint: https://%[9]s:8444/v1
    caBundleSecretRef: {name: fakepush-ca, key: ca.crt}
  timeouts: {perTry: 5s, send: 15s, shutdownDelay: 5s}
`, name, AppNamespace, replicas, logLevel, RelayImage, FakeTopic, FakeKeyID, FakeTeamID, FakeIP)
}

// MobileProxyYAML exposes a chat server (here: a stand-in URL) through an Ingress.
func MobileProxyYAML(name string) string {
	return fmt.Sprintf(`apiVersion: push.pushops.dev/v1alpha1
kind: MobileProxy
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  host: chat.example.test
  externalURL: http://chat.%[2]s.svc:8065
  tls:
    secretName: chat-tls
    # The demo CA stands in for a root that device management installs on the phones.
    trustedCABundle: {name: chat-tls-ca}
  exposure:
    type: ingress
    ingress: {className: nginx}
`, name, AppNamespace)
}

// WaitReady waits for condition Ready of kind/name in the app namespace.
func (s *Stack) WaitReady(ctx context.Context, kind, name string, timeout time.Duration) error {
	return s.WaitCondition(ctx, kind, name, "Ready", timeout)
}

// WaitCondition waits for condition cond of kind/name in the app namespace to be True.
func (s *Stack) WaitCondition(ctx context.Context, kind, name, cond string, timeout time.Duration) error {
	return s.C.Kubectl(ctx, nil, "wait", "-n", AppNamespace, "--for=condition="+cond, kind+"/"+name,
		fmt.Sprintf("--timeout=%ds", int(timeout.Seconds())))
}

// ServiceIP is the ClusterIP of a Service in the app namespace.
func (s *Stack) ServiceIP(ctx context.Context, name string) (string, error) {
	var out strings.Builder
	if err := s.C.Kubectl(ctx, &out, "get", "service", "-n", AppNamespace, name, "-o", "jsonpath={.spec.clusterIP}"); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// SendTest runs `relay send-test` in a Pod (restricted security context, the relay image)
// against the relay Service of the PushService name (by its DNS name), and returns the Pod's output and
// whether it exited 0.
func (s *Stack) SendTest(ctx context.Context, name, pod, platform, device string) (string, bool, error) {
	// By name, as the chat server would: the cluster DNS resolves it.
	manifest := sendTestPodYAML(pod, fmt.Sprintf("%s.%s.svc", name, AppNamespace), platform, device)
	_ = s.C.Kubectl(ctx, nil, "delete", "pod", "-n", AppNamespace, pod, "--ignore-not-found", "--wait=true")
	if err := s.Apply(ctx, manifest); err != nil {
		return "", false, err
	}
	var phase string
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var out strings.Builder
		if err := s.C.Kubectl(ctx, &out, "get", "pod", "-n", AppNamespace, pod, "-o", "jsonpath={.status.phase}"); err == nil {
			phase = out.String()
			if phase == "Succeeded" || phase == "Failed" {
				break
			}
		}
		select {
		case <-ctx.Done():
			return "", false, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	var logs strings.Builder
	if err := s.C.Kubectl(ctx, &logs, "logs", "-n", AppNamespace, pod); err != nil {
		return "", false, err
	}
	if phase != "Succeeded" && phase != "Failed" {
		return logs.String(), false, fmt.Errorf("send-test pod %s still %q after 2m", pod, phase)
	}
	return strings.TrimSpace(logs.String()), phase == "Succeeded", nil
}

// sendTestPodYAML is a Pod that runs `relay send-test` once against the relay at host, with a
// security context that Pod Security `restricted` admits.
func sendTestPodYAML(pod, host, platform, device string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %[1]s, namespace: %[2]s, labels: {app: send-test}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: send-test
    image: %[3]s
    imagePullPolicy: Never
    command: [/relay, send-test, --server, "http://%[4]s:8066", --platform, %[5]s, --device, %[6]q, --timeout, 20s]
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
`, pod, AppNamespace, RelayImage, host, platform, device)
}

// Diagnostics prints the state of every namespace the stack uses: pods, events, the
// custom resources and the logs of the operator and relays.
func (s *Stack) Diagnostics(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var b strings.Builder
	section := func(title string, args ...string) {
		fmt.Fprintf(&b, "\n===== %s\n", title)
		if err := s.C.Kubectl(ctx, &b, args...); err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
	}
	section("nodes", "get", "nodes", "-o", "wide")
	section("pods", "get", "pods", "-A", "-o", "wide")
	section("pushservices", "get", "pushservices", "-A", "-o", "yaml")
	section("events", "get", "events", "-A", "--sort-by=.lastTimestamp")
	section("operator logs", "logs", "-n", OperatorNamespace, "-l", "app.kubernetes.io/component=manager", "--tail=200", "--all-containers")
	section("relay logs", "logs", "-n", AppNamespace, "-l", "app.kubernetes.io/name=push-relay", "--tail=100", "--prefix")
	section("fakepush logs", "logs", "-n", FakeNamespace, "fakepush", "--tail=50")
	for _, daemon := range []string{"kubelet", "containerd", "kube-controller-manager"} {
		fmt.Fprintf(&b, "\n===== last lines of %s.log (all: %s)\n%s\n", daemon, s.C.LogDir(), s.C.LogTail(daemon, 30))
	}
	return b.String()
}

// CreateServingCertificate issues a serving certificate for host from a throw-away CA and
// stores it as the kubernetes.io/tls Secret name (with the CA as ca.crt) in the app
// namespace, and the CA alone as the ConfigMap <name>-ca, the MobileProxy's trusted bundle.
func (s *Stack) CreateServingCertificate(ctx context.Context, name, host string) error {
	ca, err := localcluster.NewCA("push-operator demo CA")
	if err != nil {
		return err
	}
	cert, key, err := ca.Issue(host, nil, host)
	if err != nil {
		return err
	}
	return s.Apply(ctx, fmt.Sprintf(`apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {name: %s, namespace: %s}
stringData:
  tls.crt: |
%s
  tls.key: |
%s
  ca.crt: |
%s
---
apiVersion: v1
kind: ConfigMap
metadata: {name: %[1]s-ca, namespace: %[2]s}
data:
  ca.crt: |
%[5]s
`, name, AppNamespace, indent(cert, 4), indent(key, 4), indent(ca.CertPEM, 4)))
}
