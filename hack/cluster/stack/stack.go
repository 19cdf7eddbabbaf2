// Package stack deploys push-operator onto a local cluster the way a user would: the
// operator with its own Helm chart, fake APNs and FCM as a Pod, throw-away credentials as
// Secrets, and a PushService that uses them. `hack/cluster demo` and test/e2e share it.
package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/kube"

	"github.com/pushops/push-operator/hack/cluster/localcluster"
)

// Names and addresses. There is no cluster DNS, so the fakes get a fixed ClusterIP that is
// known before their Pod starts (it goes into their serving certificates).
const (
	OperatorNamespace = "push-operator-system"
	ReleaseName       = "push-operator"
	FakeNamespace     = "pushop-fakes"
	FakeIP            = "10.96.0.50"
	AppNamespace      = "chat"
	ImageTag          = "dev"
	RelayImage        = "ghcr.io/pushops/push-relay:" + ImageTag
	FakeImage         = "ghcr.io/pushops/push-fakepush:" + ImageTag
	// FakeKeyID, FakeTeamID and FakeTopic are what cmd/fakepush trusts and writes.
	FakeKeyID  = "FAKEKEY001"
	FakeTeamID = "FAKETEAM01"
	FakeTopic  = "com.example.chat"
)

// FakeAdminURL lists (GET) and clears (DELETE) what the fakes received.
var FakeAdminURL = "http://" + FakeIP + ":8445/requests"

// Stack is the deployed operator and fakes on one cluster.
type Stack struct {
	C        *localcluster.Cluster
	RepoRoot string
	Log      io.Writer
}

// Apply applies YAML with server-side apply.
func (s *Stack) Apply(ctx context.Context, manifest string) error {
	return s.C.KubectlStdin(ctx, strings.NewReader(manifest), nil, "apply", "--server-side", "--force-conflicts", "-f", "-")
}

// InstallOperator installs charts/push-operator with the Helm SDK (images from the local
// import, never pulled) and waits for the manager Deployment to be available.
func (s *Stack) InstallOperator(ctx context.Context) error {
	ch, err := loader.Load(filepath.Join(s.RepoRoot, "charts", "push-operator"))
	if err != nil {
		return fmt.Errorf("loading the chart: %w", err)
	}
	cfg := new(action.Configuration)
	getter := kube.GetConfig(s.C.Kubeconfig, "", OperatorNamespace)
	if err := cfg.Init(getter, OperatorNamespace, "secret", func(string, ...any) {}); err != nil {
		return fmt.Errorf("helm: %w", err)
	}
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace, inst.CreateNamespace = ReleaseName, OperatorNamespace, true
	inst.Wait, inst.Timeout = true, 4*time.Minute
	values := map[string]any{
		"image":      map[string]any{"tag": ImageTag, "pullPolicy": "Never"},
		"relayImage": map[string]any{"tag": ImageTag},
		"extraArgs":  []any{"--zap-encoder=console"},
	}
	if _, err := inst.RunWithContext(ctx, ch, values); err != nil {
		return fmt.Errorf("helm install: %w", err)
	}
	return nil
}

// Creds are the fakes' throw-away credentials, read from what cmd/fakepush wrote.
type Creds struct {
	CA, APNsKey, ServiceAccount []byte
}

// StartFakes runs cmd/fakepush as a Pod behind a Service at FakeIP. It writes its CA and
// credentials to a hostPath below the cluster's state directory, which is how they reach
// this process (and from here the Secrets).
func (s *Stack) StartFakes(ctx context.Context) (*Creds, error) {
	dir := filepath.Join(s.C.StateDir(), "fakepush")
	_ = os.RemoveAll(dir)
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
  labels: {pod-security.kubernetes.io/enforce: privileged}
---
apiVersion: v1
kind: Service
metadata: {name: fakepush, namespace: %[1]s}
spec:
  clusterIP: %[2]s
  selector: {app: fakepush}
  ports:
  - {name: apns, port: 8443}
  - {name: fcm, port: 8444}
  - {name: admin, port: 8445}
---
apiVersion: v1
kind: Pod
metadata: {name: fakepush, namespace: %[1]s, labels: {app: fakepush}}
spec:
  automountServiceAccountToken: false
  containers:
  - name: fakepush
    image: %[3]s
    imagePullPolicy: Never
    args: [--apns-addr=0.0.0.0:8443, --fcm-addr=0.0.0.0:8444, --admin-addr=0.0.0.0:8445, --out=/out, --advertise=%[2]s]
    securityContext: {runAsUser: 0}
    readinessProbe:
      httpGet: {path: /healthz, port: 8445}
      periodSeconds: 2
    volumeMounts: [{name: out, mountPath: /out}]
  volumes:
  - name: out
    hostPath: {path: %[4]s, type: DirectoryOrCreate}
`, FakeNamespace, FakeIP, FakeImage, dir)
	if err := s.Apply(ctx, manifest); err != nil {
		return nil, err
	}
	if err := s.C.Kubectl(ctx, nil, "wait", "-n", FakeNamespace, "--for=condition=Ready", "pod/fakepush", "--timeout=3m"); err != nil {
		return nil, err
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	var c Creds
	var err error
	if c.CA, err = read("ca.pem"); err != nil {
		return nil, err
	}
	if c.APNsKey, err = read("apns-key.p8"); err != nil {
		return nil, err
	}
	if c.ServiceAccount, err = read("service-account.json"); err != nil {
		return nil, err
	}
	return &c, nil
}

// Received is what the fakes recorded (GET /requests).
type Received struct {
	APNs []map[string]any `json:"apns"`
	FCM  []map[string]any `json:"fcm"`
}

// Summary lists what the fakes received, one line a request, without the credentials
// the relay sent.
func (r Received) Summary() string {
	var b strings.Builder
	for _, q := range r.APNs {
		fmt.Fprintf(&b, "  APNs  token=%v status=%v key=%v team=%v payload=%s\n", q["Token"], q["Status"], q["KeyID"], q["TeamID"], compact(q["Payload"]))
	}
	for _, q := range r.FCM {
		fmt.Fprintf(&b, "  FCM   token=%v status=%v project=%v account=%v data=%s\n", q["Token"], q["Status"], q["Project"], q["ClientEmail"], compact(q["Data"]))
	}
	return b.String()
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FakeRequests asks the fakes what they received, through their Service (this machine
// reaches ClusterIPs through kube-proxy's rules). raw is the JSON as served.
func FakeRequests(ctx context.Context) (r Received, raw []byte, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, FakeAdminURL, nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return r, nil, err
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(resp.Body)
	if err != nil {
		return r, nil, err
	}
	return r, raw, json.Unmarshal(raw, &r)
}

// ClearFakeRequests forgets what the fakes received.
func ClearFakeRequests(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, FakeAdminURL, nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
