//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pushops/push-operator/hack/cluster/stack"
)

func restartCounts(pods []corev1.Pod) map[string]int32 {
	m := map[string]int32{}
	for _, p := range pods {
		for _, s := range p.Status.ContainerStatuses {
			m[p.Name] += s.RestartCount
		}
	}
	return m
}

// assertLoad checks that every push of the load was answered OK and reached the fakes.
func assertLoad(t *testing.T, e *env, l *load, what string) {
	t.Helper()
	got, _, err := stack.FakeRequests(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	received := map[string]bool{}
	for _, r := range append(got.APNs, got.FCM...) {
		if tok, ok := r["Token"].(string); ok {
			received[tok] = true
		}
	}
	lost := 0
	for _, tok := range l.okTokens {
		if !received[tok] {
			lost++
		}
	}
	t.Logf("FIGURES: %s: %d pushes sent, %d OK, %d failed, %d answered OK but not received by the fakes",
		what, l.sent.Load(), l.ok.Load(), l.failed.Load(), lost)
	if l.failed.Load() > 0 || lost > 0 {
		t.Errorf("%s: %d failed, %d lost; first failures: %s", what, l.failed.Load(), lost, strings.Join(l.failures, "; "))
	}
	if l.ok.Load() == 0 {
		t.Errorf("%s: no push succeeded", what)
	}
}

func testCredentialRotation(t *testing.T, e *env) {
	before := relayPods(t, e)
	reloads := map[string]float64{}
	for _, p := range before {
		v, err := relayMetric(e.ctx, p.Status.PodIP, "relay_credential_reloads_total", `result="ok"`)
		if err != nil {
			t.Fatal(err)
		}
		reloads[p.Name] = v
	}
	if err := stack.ClearFakeRequests(e.ctx); err != nil {
		t.Fatal(err)
	}
	l := startLoad(e.ctx, relayURL(t, e), "rotate", 10, 3*time.Minute)
	// The same key in a new file (a comment before the PEM block): the bytes change, so the
	// kubelet rewrites the mounted file and the relay reloads it; pushes keep working.
	sec, err := e.cs.CoreV1().Secrets(stack.AppNamespace).Get(e.ctx, "apns-key", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := sec.Data["authkey.p8"]
	if i := bytes.Index(key, []byte("-----BEGIN")); i > 0 {
		key = key[i:]
	}
	sec.Data["authkey.p8"] = append([]byte(fmt.Sprintf("rotated by the e2e test at %s\n", time.Now().Format(time.RFC3339Nano))), key...)
	if _, err := e.cs.CoreV1().Secrets(stack.AppNamespace).Update(e.ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, 3*time.Minute, "every relay pod reloaded the rotated key", func() error {
		for _, p := range before {
			v, err := relayMetric(e.ctx, p.Status.PodIP, "relay_credential_reloads_total", `result="ok"`)
			if err != nil {
				return err
			}
			if v <= reloads[p.Name] {
				return fmt.Errorf("pod %s: relay_credential_reloads_total{result=ok} still %v", p.Name, v)
			}
		}
		return nil
	})
	t.Logf("FIGURES: Secret update to reload in every relay pod: %.1fs", time.Since(start).Seconds())
	time.Sleep(3 * time.Second) // a few pushes signed with the reloaded key
	l.finish()
	assertLoad(t, e, l, "credential rotation")
	after := relayPods(t, e)
	if len(after) != len(before) {
		t.Fatalf("relay pods changed from %d to %d", len(before), len(after))
	}
	counts := restartCounts(after)
	for _, p := range before {
		n, ok := counts[p.Name]
		if !ok {
			t.Errorf("pod %s was replaced; a Secret change must not roll the pods", p.Name)
		} else if n != 0 {
			t.Errorf("pod %s restarted %d times", p.Name, n)
		}
	}
}

func testRollingUpdateUnderLoad(t *testing.T, e *env) {
	before := map[string]bool{}
	for _, p := range relayPods(t, e) {
		before[p.Name] = true
	}
	if err := stack.ClearFakeRequests(e.ctx); err != nil {
		t.Fatal(err)
	}
	l := startLoad(e.ctx, relayURL(t, e), "rollout", 25, 6*time.Minute)
	time.Sleep(3 * time.Second) // steady load before the change
	start := time.Now()
	// A configuration change (log level) rolls every pod; the replica change adds one.
	apply(t, e, stack.PushServiceYAML("push", 3, "debug"))
	waitFor(t, 5*time.Minute, "rollout of 3 new relay pods", func() error {
		d, err := e.cs.AppsV1().Deployments(stack.AppNamespace).Get(e.ctx, "push", metav1.GetOptions{})
		if err != nil {
			return err
		}
		st := d.Status
		if d.Generation != st.ObservedGeneration || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.Replicas != 3 {
			return fmt.Errorf("generation %d observed %d, replicas %d updated %d ready %d",
				d.Generation, st.ObservedGeneration, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas)
		}
		for _, p := range relayPods(t, e) {
			if before[p.Name] {
				return fmt.Errorf("old pod %s still there", p.Name)
			}
		}
		return nil
	})
	t.Logf("FIGURES: rolling update 2 -> 3 pods with a config change took %.1fs", time.Since(start).Seconds())
	time.Sleep(3 * time.Second) // load on the new pods only
	l.finish()
	if err := e.s.WaitReady(e.ctx, "pushservice", "push", 2*time.Minute); err != nil {
		t.Error(err)
	}
	assertLoad(t, e, l, "rolling update")
}

func testOperatorFailover(t *testing.T, e *env) {
	pods := podsWithLabel(t, e, stack.OperatorNamespace, "app.kubernetes.io/component=manager")
	if len(pods) != 1 {
		t.Fatalf("want 1 manager pod, got %d", len(pods))
	}
	old := pods[0].Name
	snapshot := func() string {
		d, err := e.cs.AppsV1().Deployments(stack.AppNamespace).Get(e.ctx, "push", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm, err := e.cs.CoreV1().ConfigMaps(stack.AppNamespace).Get(e.ctx, "push-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := e.cs.CoreV1().Services(stack.AppNamespace).Get(e.ctx, "push", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("deployment generation %d, configmap %s, service %s", d.Generation, cm.ResourceVersion, svc.ResourceVersion)
	}
	was := snapshot()
	if err := e.cs.CoreV1().Pods(stack.OperatorNamespace).Delete(e.ctx, old, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var leader string
	waitFor(t, 3*time.Minute, "a new manager pod holds the leader lease", func() error {
		leases, err := e.cs.CoordinationV1().Leases(stack.OperatorNamespace).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range podsWithLabel(t, e, stack.OperatorNamespace, "app.kubernetes.io/component=manager") {
			if p.Name == old || !podReady(p) {
				continue
			}
			for _, l := range leases.Items {
				if l.Spec.HolderIdentity != nil && strings.HasPrefix(*l.Spec.HolderIdentity, p.Name+"_") {
					leader = p.Name
					return nil
				}
			}
		}
		return fmt.Errorf("no Ready new manager pod holds a lease yet")
	})
	t.Logf("FIGURES: operator failover: %s leads %.1fs after %s was deleted", leader, time.Since(start).Seconds(), old)
	// The new leader reconciles everything once; with nothing new to say it writes nothing.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if now := snapshot(); now != was {
			t.Fatalf("children churned after the fail-over: before %s, now %s", was, now)
		}
		time.Sleep(2 * time.Second)
	}
	if err := e.s.WaitReady(e.ctx, "pushservice", "push", time.Minute); err != nil {
		t.Error(err)
	}
}

func testGarbageCollection(t *testing.T, e *env) {
	// Every child names the PushService as its controlling owner ...
	ps := kubectl(t, e, "get", "-n", stack.AppNamespace, "pushservice", "push", "-o", "jsonpath={.metadata.uid}")
	for _, obj := range []string{"deployment/push", "service/push", "configmap/push-config", "poddisruptionbudget/push", "networkpolicy/push"} {
		owner := kubectl(t, e, "get", "-n", stack.AppNamespace, obj, "-o", "jsonpath={.metadata.ownerReferences[?(@.controller==true)].uid}")
		if owner != ps {
			t.Errorf("%s: controlling owner %q, want the PushService %q", obj, owner, ps)
		}
	}
	// ... and with the operator stopped, only the real kube-controller-manager's garbage
	// collector can be the one that deletes them.
	kubectl(t, e, "scale", "-n", stack.OperatorNamespace, "deployment/"+stack.ReleaseName+"-controller-manager", "--replicas=0")
	waitFor(t, 2*time.Minute, "operator stopped", func() error {
		if n := len(podsWithLabel(t, e, stack.OperatorNamespace, "app.kubernetes.io/component=manager")); n > 0 {
			return fmt.Errorf("%d manager pods left", n)
		}
		return nil
	})
	kubectl(t, e, "delete", "-n", stack.AppNamespace, "pushservice", "push", "--wait=false")
	start := time.Now()
	waitFor(t, 3*time.Minute, "children of the PushService garbage-collected", func() error {
		var out strings.Builder
		if err := e.s.C.Kubectl(e.ctx, &out, "get", "-n", stack.AppNamespace, "--ignore-not-found", "-o", "name",
			"pushservice/push", "deployment/push", "service/push", "configmap/push-config", "poddisruptionbudget/push", "networkpolicy/push"); err != nil {
			return err
		}
		if s := strings.TrimSpace(out.String()); s != "" {
			return fmt.Errorf("still there: %s", strings.ReplaceAll(s, "\n", " "))
		}
		if n := len(relayPods(t, e)); n > 0 {
			return fmt.Errorf("%d relay pods left", n)
		}
		return nil
	})
	t.Logf("FIGURES: garbage collection of the children and their pods took %.1fs", time.Since(start).Seconds())
}
