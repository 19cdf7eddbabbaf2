package resilience

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

const managedBy = "push-operator"

func TestAManagerKilledMidConvergenceIsReplacedWithoutDuplicatesOrLostStatus(t *testing.T) {
	first := startManager(t, nil)
	// The first manager dies as its 5th write leaves: some tenants have children, none
	// has everything.
	first.killAt.Store(5)
	var tenants []string
	for range 6 {
		tenants = append(tenants, newTenantNamespace(t))
	}
	for _, ns := range tenants {
		createResources(t, ns)
	}
	first.wait(t)
	unfinished := 0
	for _, ns := range tenants {
		if converged(ns) != nil {
			unfinished++
		}
	}
	if unfinished == 0 {
		t.Fatal("every tenant had converged before the first manager died: the test did not interrupt anything")
	}
	t.Logf("%d of %d tenants unfinished when the first manager died", unfinished, len(tenants))

	second := startManager(t, nil)
	for _, ns := range tenants {
		eventually(t, func() error { return converged(ns) })
		childrenAreUnique(t, ns)
	}
	second.running(t)
}

// childrenAreUnique checks that the tenant has exactly one of each child, each controlled
// by the live PushService or MobileProxy.
func childrenAreUnique(t *testing.T, ns string) {
	t.Helper()
	var ps pushv1alpha1.PushService
	var mp pushv1alpha1.MobileProxy
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushName}, &ps); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: proxyName}, &mp); err != nil {
		t.Fatal(err)
	}
	owners := map[types.UID]bool{ps.UID: true, mp.UID: true}
	lists := map[string]client.ObjectList{
		"Deployment": &appsv1.DeploymentList{}, "Service": &corev1.ServiceList{},
		"ConfigMap": &corev1.ConfigMapList{}, "Ingress": &networkingv1.IngressList{},
	}
	for kind, list := range lists {
		if err := k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/managed-by": managedBy}); err != nil {
			t.Fatal(err)
		}
		items, err := itemsOf(list)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Errorf("%s: %d %ss made by the operator, want 1", ns, len(items), kind)
		}
		for _, o := range items {
			ref := metav1.GetControllerOf(o)
			if ref == nil || !owners[ref.UID] {
				t.Errorf("%s: %s %s is not controlled by the tenant's live resources (controller %v)", ns, kind, o.GetName(), ref)
			}
		}
	}
}

// itemsOf are the objects of any list.
func itemsOf(list client.ObjectList) ([]client.Object, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(objs))
	for _, o := range objs {
		obj, ok := o.(client.Object)
		if !ok {
			return nil, fmt.Errorf("%T is not an object", o)
		}
		out = append(out, obj)
	}
	return out, nil
}

// leaderElection is the shipped leader election with short timings, in a Lease of the
// test's own.
func leaderElection(id string) func(*ctrl.Options) {
	return func(o *ctrl.Options) {
		o.LeaderElection = true
		o.LeaderElectionNamespace = "default"
		o.LeaderElectionID = id
		o.LeaseDuration = ptr.To(3 * time.Second)
		o.RenewDeadline = ptr.To(2 * time.Second)
		o.RetryPeriod = ptr.To(250 * time.Millisecond)
	}
}

func TestOnlyTheLeaderReconcilesAndTheOtherTakesOver(t *testing.T) {
	id := "resilience-leader-election"
	a := startManager(t, leaderElection(id))
	b := startManager(t, leaderElection(id))
	var leader, standby *manager
	select {
	case <-a.mgr.Elected():
		leader, standby = a, b
	case <-b.mgr.Elected():
		leader, standby = b, a
	case <-time.After(timeout):
		t.Fatal("no manager became leader")
	}
	select {
	case <-standby.mgr.Elected():
		t.Fatal("both managers are leaders")
	default:
	}

	ns := newTenantNamespace(t)
	createResources(t, ns)
	eventually(t, func() error { return converged(ns) })
	if leader.writes.Load() == 0 {
		t.Error("the leader made no writes")
	}
	if n := standby.writes.Load(); n != 0 {
		t.Errorf("the standby made %d writes, want 0", n)
	}

	// A rollout stops the leader; it releases the Lease and the standby takes over.
	leader.stop(t)
	select {
	case <-standby.mgr.Elected():
	case <-time.After(timeout):
		t.Fatal("the standby did not take over")
	}
	next := newTenantNamespace(t)
	createResources(t, next)
	eventually(t, func() error { return converged(next) })
	if standby.writes.Load() == 0 {
		t.Error("the new leader made no writes")
	}
	standby.running(t)
}

func TestTheManagerOutlivesAnAPIServerOutage(t *testing.T) {
	m := startManager(t, nil)
	ns := newTenantNamespace(t)
	createResources(t, ns)
	eventually(t, func() error { return converged(ns) })

	apiServer := testEnv.ControlPlane.APIServer
	down := time.Now()
	if err := apiServer.Stop(); err != nil {
		// envtest kills the API server once its graceful shutdown outlasts StopTimeout.
		t.Logf("stopping the API server: %v", err)
	}
	// The outage itself is the scenario: ten seconds without an API server, in which the
	// manager's watches and reconciles fail and retry.
	time.Sleep(10*time.Second - time.Since(down))
	m.running(t)
	if err := apiServer.Start(); err != nil {
		t.Fatalf("restarting the API server: %v", err)
	}

	// The manager reconciles again: a deleted child comes back and a new tenant converges.
	// Watches reconnect with client-go's backoff, so allow it a little longer.
	ing := &networkingv1.Ingress{}
	eventually(t, func() error { return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: proxyName}, ing) })
	if err := k8sClient.Delete(ctx, ing); err != nil {
		t.Fatal(err)
	}
	next := newTenantNamespace(t)
	createResources(t, next)
	longEventually(t, func() error { return converged(next) })
	longEventually(t, func() error {
		var again networkingv1.Ingress
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ing), &again); err != nil {
			return err
		}
		if again.UID == ing.UID {
			return fmt.Errorf("still the deleted Ingress")
		}
		return nil
	})
	m.running(t)
}
