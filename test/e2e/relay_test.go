//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pushops/push-operator/hack/cluster/stack"
	"github.com/pushops/push-operator/relay/push"
)

func podsWithLabel(t *testing.T, e *env, ns, selector string) []corev1.Pod {
	t.Helper()
	list, err := e.cs.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var live []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	return live
}

const relaySelector = "app.kubernetes.io/name=push-relay,app.kubernetes.io/instance=push"

func relayPods(t *testing.T, e *env) []corev1.Pod {
	return podsWithLabel(t, e, stack.AppNamespace, relaySelector)
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func testRelayReady(t *testing.T, e *env) {
	apply(t, e, stack.PushServiceYAML("push", 2, "info"))
	if err := e.s.WaitReady(e.ctx, "pushservice", "push", 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	pods := relayPods(t, e)
	if len(pods) != 2 {
		t.Fatalf("want 2 relay pods, got %d", len(pods))
	}
	for _, p := range pods {
		c := p.Spec.Containers[0]
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
			t.Errorf("pod %s: no HTTP readiness probe: the kubelet would not judge readiness", p.Name)
		}
		if !podReady(p) {
			t.Errorf("pod %s not Ready", p.Name)
		}
	}
	// The namespace enforces restricted: the relay pods above were admitted under it, and a
	// pod that is not restricted is refused (proof that the policy is live).
	ns, err := e.cs.CoreV1().Namespaces().Get(e.ctx, stack.AppNamespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("namespace %s does not enforce restricted", stack.AppNamespace)
	}
	err = e.s.C.Kubectl(e.ctx, nil, "run", "-n", stack.AppNamespace, "not-restricted", "--image="+stack.RelayImage,
		"--image-pull-policy=Never", "--dry-run=server", "--restart=Never")
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Fatalf("a non-restricted pod was not refused: %v", err)
	}
}

func testRoundTrip(t *testing.T, e *env) {
	if err := stack.ClearFakeRequests(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ platform, device string }{{"apple", "e2e-apple-token"}, {"android", "e2e-android-token"}} {
		out, ok, err := e.s.SendTest(e.ctx, "push", "send-test-"+p.platform, p.platform, p.device)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || !strings.Contains(out, `"status":"OK"`) {
			t.Errorf("send-test %s from a Pod: %s", p.platform, out)
		}
	}
	got, _, err := stack.FakeRequests(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !hasToken(got.APNs, "e2e-apple-token") {
		t.Errorf("fake APNs did not receive the apple push: %v", got.APNs)
	}
	if !hasToken(got.FCM, "e2e-android-token") {
		t.Errorf("fake FCM did not receive the android push: %v", got.FCM)
	}
}

func hasToken(reqs []map[string]any, token string) bool {
	for _, r := range reqs {
		if r["Token"] == token {
			return true
		}
	}
	return false
}

func testRemove(t *testing.T, e *env) {
	url := relayURL(t, e)
	client := &http.Client{Timeout: 30 * time.Second}
	for _, p := range []struct{ platform, device string }{{"apple", "gone-e2e"}, {"android", "unregistered-e2e"}} {
		resp, err := sendPush(e.ctx, client, url, p.platform, p.device)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != push.StatusRemove {
			t.Errorf("%s dead token %s: got %+v, want REMOVE", p.platform, p.device, resp)
		}
	}
}

// relayMetric sums a counter of one relay pod's /metrics (reached at the pod IP over the
// cluster bridge) over the lines whose labels contain every filter.
func relayMetric(ctx context.Context, podIP, name string, filters ...string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s:8066/metrics", podIP), nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, f := range filters {
			if !strings.Contains(line, f) {
				continue lines
			}
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}
