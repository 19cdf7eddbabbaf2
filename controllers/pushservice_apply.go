package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

const (
	// fieldOwner is the server-side apply manager name of every object the operator writes.
	fieldOwner = client.FieldOwner("push-operator")
	// appliedHashAnnotation records the hash of what was last applied, so a reconcile with
	// nothing new to say skips the apply entirely: zero writes in steady state.
	appliedHashAnnotation = "push.pushops.dev/applied-hash"
)

// child is a desired object, or (desired == nil) the kind of an optional object that
// should not exist.
type child struct {
	kind    schema.GroupVersionKind
	name    string
	desired client.Object
}

// What applyChild did, for the event a person sees.
const (
	applySkipped  = ""
	applyCreated  = "created"
	applyUpdated  = "updated"
	applyRestored = "restored"  // someone else had edited or deleted it
	applyRefresh  = "refreshed" // first look after an operator restart; nothing to report
)

// applyChild server-side applies a desired child owned by ps, unless the object in the
// cluster already carries the hash of exactly this desired state and nobody edited it. It
// returns what it did and, when it applied, the object as the API server stored it.
func (r *PushServiceReconciler) applyChild(ctx context.Context, ps *pushv1alpha1.PushService, obj client.Object) (string, *unstructured.Unstructured, error) {
	if err := controllerutil.SetControllerReference(ps, obj, r.Scheme); err != nil {
		return "", nil, fmt.Errorf("owning %s %q: %w", kindOf(obj), obj.GetName(), err)
	}
	u, err := toUnstructured(obj)
	if err != nil {
		return "", nil, err
	}
	hash, err := hashObject(u)
	if err != nil {
		return "", nil, err
	}
	current := r.newObject(u.GroupVersionKind())
	err = r.Get(ctx, client.ObjectKeyFromObject(obj), current)
	var action string
	switch {
	case apierrors.IsNotFound(err):
		action = applyCreated
	case err != nil:
		return "", nil, fmt.Errorf("reading %s %q: %w", u.GetKind(), u.GetName(), err)
	case current.GetAnnotations()[appliedHashAnnotation] != hash || current.GetDeletionTimestamp() != nil:
		action = applyUpdated
	default:
		seen, unchanged := r.applied.check(current)
		switch {
		case unchanged:
			return applySkipped, nil, nil
		case seen:
			action = applyRestored
		default:
			action = applyRefresh
		}
	}
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[appliedHashAnnotation] = hash
	u.SetAnnotations(annotations)
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), fieldOwner, client.ForceOwnership); err != nil {
		return "", nil, fmt.Errorf("applying %s %q: %w", u.GetKind(), u.GetName(), err)
	}
	r.applied.record(u) // u now holds the API server's answer
	return action, u, nil
}

// appliedVersions remembers, per child, the version the operator's last apply produced.
// A child whose hash annotation matches but whose version moved on was edited by someone
// else: it is applied again, which puts back the fields the operator owns. Versions are
// spec generations where the kind has them, so status updates (a Deployment's, every few
// seconds) do not count as edits; kinds without generations use the resourceVersion.
// After a restart the map is empty and every child is applied once.
type appliedVersions struct {
	mu       sync.Mutex
	versions map[types.UID]string
}

func version(o metav1.Object) string {
	if g := o.GetGeneration(); g > 0 {
		return "generation " + strconv.FormatInt(g, 10)
	}
	return "resourceVersion " + o.GetResourceVersion()
}

func (a *appliedVersions) record(o metav1.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.versions == nil {
		a.versions = map[types.UID]string{}
	}
	a.versions[o.GetUID()] = version(o)
}

// check says whether the operator has applied o before (in this process) and whether o
// is still at the version that apply produced.
func (a *appliedVersions) check(o metav1.Object) (seen, unchanged bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.versions[o.GetUID()]
	return ok, ok && v == version(o)
}

// forget drops a deleted child so the map does not grow with every object ever owned.
func (a *appliedVersions) forget(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.versions, uid)
}

// deleteChild removes an optional child that the spec no longer asks for, if ps owns it.
func (r *PushServiceReconciler) deleteChild(ctx context.Context, ps *pushv1alpha1.PushService, c child) (string, error) {
	current := r.newObject(c.kind)
	err := r.Get(ctx, client.ObjectKey{Namespace: ps.Namespace, Name: c.name}, current)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return applySkipped, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s %q: %w", c.kind.Kind, c.name, err)
	}
	if !metav1.IsControlledBy(current, ps) || current.GetDeletionTimestamp() != nil {
		return applySkipped, nil
	}
	if err := r.Delete(ctx, current, client.Preconditions{UID: ptr.To(current.GetUID())}); client.IgnoreNotFound(err) != nil {
		return "", fmt.Errorf("deleting %s %q that the spec no longer asks for: %w", c.kind.Kind, c.name, err)
	}
	r.applied.forget(current.GetUID())
	return "deleted", nil
}

// metadataOnly are the child kinds the controller watches and caches by metadata only: it
// never needs their contents (the applied-hash annotation says what they hold), and
// ConfigMaps in particular exist in every namespace of a cluster.
var metadataOnly = map[schema.GroupKind]bool{
	{Group: "", Kind: "ConfigMap"}:                          true,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:     true,
	{Group: "policy", Kind: "PodDisruptionBudget"}:          true,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: true,
}

// newObject is an empty object of kind gvk to read a child into: metadata only for the
// kinds above, typed when the scheme knows the kind (reads come from the manager's cache),
// unstructured otherwise (ServiceMonitor, read from the API server).
func (r *PushServiceReconciler) newObject(gvk schema.GroupVersionKind) client.Object {
	if metadataOnly[gvk.GroupKind()] {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		return m
	}
	if o, err := r.Scheme.New(gvk); err == nil {
		if obj, ok := o.(client.Object); ok {
			return obj
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

func toUnstructured(obj client.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.DeepCopy(), nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s %q: %w", kindOf(obj), obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: m}
	// Typed objects carry empty status and creationTimestamp; applying them would claim
	// fields the operator does not manage.
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u, nil
}

func hashObject(u *unstructured.Unstructured) (string, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return "", fmt.Errorf("hashing %s %q: %w", u.GetKind(), u.GetName(), err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12]), nil
}

func kindOf(obj client.Object) string {
	if k := obj.GetObjectKind().GroupVersionKind().Kind; k != "" {
		return k
	}
	return fmt.Sprintf("%T", obj)
}
