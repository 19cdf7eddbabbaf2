package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/internal/certcheck/certtest"
	"github.com/pushops/push-operator/internal/credentials/credtest"
)

// One namespace per tenant, as a platform team runs it: a PushService "push" in direct
// mode (an APNs token key and an FCM service account) and a MobileProxy "chat" exposed by
// an Ingress with a TLS Secret from a private CA and the chat server's Service.
const (
	pushName  = "push"
	proxyName = "chat"
	chatHost  = "chat.example.com"
	managedBy = "app.kubernetes.io/managed-by=push-operator"
)

// material is generated once and reused in every namespace: generating 1000 RSA keys would
// cost more than the benchmark itself, and the operator checks each Secret all the same.
type material struct {
	apnsKey, serviceAccount []byte
	caPEM, certPEM, keyPEM  []byte
}

func newMaterial() material {
	root := certtest.NewRoot("Bench Root")
	inter := root.NewIntermediate("Bench Intermediate")
	leaf := inter.Issue([]string{chatHost}, certtest.Options{})
	return material{
		apnsKey:        credtest.APNsAuthKey(),
		serviceAccount: credtest.ServiceAccountJSON("bench"),
		caPEM:          root.PEM,
		certPEM:        certtest.Chain(leaf.CertPEM, inter.PEM),
		keyPEM:         leaf.KeyPEM,
	}
}

// inputs are what a tenant has before the operator's objects: Secrets, CA bundle, Service.
func (m material) inputs(ns string) []client.Object {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	return []client.Object{
		&corev1.Secret{ObjectMeta: meta("apns"), Data: map[string][]byte{"authkey.p8": m.apnsKey}},
		&corev1.Secret{ObjectMeta: meta("fcm"), Data: map[string][]byte{"service-account.json": m.serviceAccount}},
		&corev1.Secret{ObjectMeta: meta("chat-tls"), Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: m.certPEM, corev1.TLSPrivateKeyKey: m.keyPEM}},
		&corev1.ConfigMap{ObjectMeta: meta("trusted-roots"), Data: map[string]string{"ca.crt": string(m.caPEM)}},
		&corev1.Service{ObjectMeta: meta("mattermost"), Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "mattermost"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 8065}},
		}},
	}
}

func pushService(ns string) *pushv1alpha1.PushService {
	return &pushv1alpha1.PushService{
		ObjectMeta: metav1.ObjectMeta{Name: pushName, Namespace: ns},
		Spec: pushv1alpha1.PushServiceSpec{Apps: []pushv1alpha1.PushApp{
			{Platform: "apple_rn", APNs: &pushv1alpha1.APNsApp{
				Topic: "com.example.chat", KeyID: "ABCDEFGHIJ", TeamID: "TEAM123456",
				AuthKeySecretRef: &pushv1alpha1.APNsAuthKeyRef{Name: "apns"},
			}},
			{Platform: "android_rn", FCM: &pushv1alpha1.FCMApp{
				ServiceAccountSecretRef: pushv1alpha1.FCMServiceAccountRef{Name: "fcm"},
			}},
		}},
	}
}

func mobileProxy(ns string) *pushv1alpha1.MobileProxy {
	return &pushv1alpha1.MobileProxy{
		ObjectMeta: metav1.ObjectMeta{Name: proxyName, Namespace: ns},
		Spec: pushv1alpha1.MobileProxySpec{
			Host:    chatHost,
			Backend: &pushv1alpha1.MobileProxyBackend{ServiceName: "mattermost"},
			TLS: pushv1alpha1.MobileProxyTLS{
				SecretName:      "chat-tls",
				TrustedCABundle: &pushv1alpha1.ConfigMapKeyRef{Name: "trusted-roots"},
			},
			Exposure: pushv1alpha1.MobileProxyExposure{
				Type:    pushv1alpha1.ExposureIngress,
				Ingress: &pushv1alpha1.IngressExposure{ClassName: "nginx", Profile: pushv1alpha1.ProfileGeneric},
			},
		},
	}
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return first
}

func createNamespaces(ctx context.Context, c client.Client, names []string, workers int) error {
	return parallel(ctx, len(names), workers, func(ctx context.Context, i int) error {
		return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: names[i]}})
	})
}

// childKinds are every kind a PushService or MobileProxy may create in this setup.
var childKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Service"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
}

// operatorChildren lists what the operator created, ready to be created again elsewhere:
// server-set fields, owner references and status removed.
func operatorChildren(ctx context.Context, c client.Client) ([]*unstructured.Unstructured, error) {
	sel, err := labelSelector(managedBy)
	if err != nil {
		return nil, err
	}
	out, err := listCopies(ctx, c, childKinds, client.MatchingLabelsSelector{Selector: sel})
	for _, u := range out {
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIPs")
	}
	return out, err
}

// operatorResources lists the converged PushServices and MobileProxies, server-set fields
// removed and status kept.
func operatorResources(ctx context.Context, c client.Client) ([]*unstructured.Unstructured, error) {
	gv := pushv1alpha1.GroupVersion
	return listCopies(ctx, c, []schema.GroupVersionKind{gv.WithKind("PushService"), gv.WithKind("MobileProxy")})
}

func listCopies(ctx context.Context, c client.Client, kinds []schema.GroupVersionKind, opts ...client.ListOption) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "ownerReferences"} {
				unstructured.RemoveNestedField(u.Object, "metadata", f)
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// floor creates the same children with a plain client loop on workers goroutines, in the
// namespaces rename says, and returns how long it took. With apply, it server-side applies
// them (as the operator does, one field manager, forced) instead of creating them.
func floor(ctx context.Context, c client.Client, children []*unstructured.Unstructured, rename func(string) string, workers int, apply bool) (time.Duration, error) {
	start := time.Now()
	err := parallel(ctx, len(children), workers, func(ctx context.Context, i int) error {
		u := children[i].DeepCopy()
		u.SetNamespace(rename(u.GetNamespace()))
		var err error
		if apply {
			err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("bench-floor"), client.ForceOwnership)
		} else {
			err = c.Create(ctx, u)
		}
		if err != nil {
			return fmt.Errorf("floor: writing %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		return nil
	})
	return time.Since(start), err
}

// fullFloor is the floor plus the rest of what convergence requires, by a plain client loop
// over tenants on workers goroutines: each tenant's PushService and MobileProxy created and
// their status written once (copied from the converged ones), then its children created,
// in the namespaces rename says. The operator cannot do less.
func fullFloor(ctx context.Context, c client.Client, resources, children []*unstructured.Unstructured, rename func(string) string, workers int) (time.Duration, error) {
	byTenant := map[string][]*unstructured.Unstructured{}
	var tenants []string
	for _, u := range slices.Concat(resources, children) {
		ns := u.GetNamespace()
		if _, ok := byTenant[ns]; !ok {
			tenants = append(tenants, ns)
		}
		byTenant[ns] = append(byTenant[ns], u)
	}
	start := time.Now()
	err := parallel(ctx, len(tenants), workers, func(ctx context.Context, i int) error {
		for _, obj := range byTenant[tenants[i]] {
			u := obj.DeepCopy()
			u.SetNamespace(rename(u.GetNamespace()))
			status, hasStatus := u.Object["status"]
			if err := c.Create(ctx, u); err != nil {
				return fmt.Errorf("full floor: creating %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
			if !hasStatus {
				continue
			}
			u.Object["status"] = status
			if err := c.Status().Update(ctx, u); err != nil {
				return fmt.Errorf("full floor: writing the status of %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
		}
		return nil
	})
	return time.Since(start), err
}
