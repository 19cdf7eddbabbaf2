package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// optionalAPIs says which optional CRDs the API server serves right now.
type optionalAPIs struct {
	gateway          bool // HTTPRoute and Gateway
	referenceGrant   bool
	backendTLSPolicy bool
	certManager      bool
}

var (
	gatewayGV         = schema.GroupVersion{Group: gatewayv1.GroupName, Version: "v1"}
	httpRouteGVK      = gatewayGV.WithKind("HTTPRoute")
	gatewayGVK        = gatewayGV.WithKind("Gateway")
	referenceGrantGVK = gatewayGV.WithKind("ReferenceGrant")
	// BackendTLSPolicy is v1 (standard channel) from Gateway API v1.4 on; older releases had
	// only v1alpha versions in the experimental channel, which the operator does not use.
	backendTLSPolicyGVK = gatewayGV.WithKind("BackendTLSPolicy")
	certificateGVK      = cmv1.SchemeGroupVersion.WithKind("Certificate")
)

// detectAPIs asks the REST mapper, which rediscovers a group on a miss, whether the optional
// CRDs are served, and starts watching each kind the first time it is.
func (r *MobileProxyReconciler) detectAPIs() (optionalAPIs, error) {
	var apis optionalAPIs
	var err error
	if apis.gateway, err = r.served(httpRouteGVK); err != nil {
		return apis, err
	}
	if apis.gateway {
		if ok, err := r.served(gatewayGVK); err != nil || !ok {
			apis.gateway = false
			if err != nil {
				return apis, err
			}
		}
	}
	if apis.referenceGrant, err = r.served(referenceGrantGVK); err != nil {
		return apis, err
	}
	if apis.backendTLSPolicy, err = r.served(backendTLSPolicyGVK); err != nil {
		return apis, err
	}
	if apis.certManager, err = r.served(certificateGVK); err != nil {
		return apis, err
	}
	if apis.gateway {
		if err := r.watchOwned(&gatewayv1.HTTPRoute{}, httpRouteGVK); err != nil {
			return apis, err
		}
		if err := r.watchOnce(gatewayGVK, source.Kind(r.cache, client.Object(&gatewayv1.Gateway{}), handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []ctrl.Request {
			return r.proxiesMatching(ctx, indexGateway, o.GetNamespace()+"/"+o.GetName())
		}))); err != nil {
			return apis, err
		}
	}
	if apis.referenceGrant {
		if err := r.watchOwned(&gatewayv1.ReferenceGrant{}, referenceGrantGVK); err != nil {
			return apis, err
		}
	}
	if apis.backendTLSPolicy {
		if err := r.watchOwned(&gatewayv1.BackendTLSPolicy{}, backendTLSPolicyGVK); err != nil {
			return apis, err
		}
	}
	if apis.certManager {
		if err := r.watchOwned(&cmv1.Certificate{}, certificateGVK); err != nil {
			return apis, err
		}
	}
	return apis, nil
}

func (r *MobileProxyReconciler) served(gvk schema.GroupVersionKind) (bool, error) {
	if r.kinds != nil {
		ok, err := r.kinds.served(gvk)
		if err != nil {
			return false, fmt.Errorf("discovering %s: %w", gvk.GroupKind(), err)
		}
		return ok, nil
	}
	_, err := r.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	switch {
	case err == nil:
		return true, nil
	case meta.IsNoMatchError(err):
		return false, nil
	default:
		return false, fmt.Errorf("discovering %s: %w", gvk.GroupKind(), err)
	}
}

func (r *MobileProxyReconciler) watchOwned(obj client.Object, gvk schema.GroupVersionKind) error {
	h := handler.EnqueueRequestForOwner(r.Scheme, r.RESTMapper(), &pushv1alpha1.MobileProxy{}, handler.OnlyControllerOwner())
	return r.watchOnce(gvk, source.Kind(r.cache, obj, h, skipCreates)) // see ignoreCreates
}

// watchOnce starts src the first time gvk is seen; the controller may already be running.
func (r *MobileProxyReconciler) watchOnce(gvk schema.GroupVersionKind, src source.Source) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watching[gvk] || r.controller == nil {
		return nil
	}
	if err := r.controller.Watch(src); err != nil {
		return fmt.Errorf("watching %s: %w", gvk.Kind, err)
	}
	if r.watching == nil {
		r.watching = map[schema.GroupVersionKind]bool{}
	}
	r.watching[gvk] = true
	return nil
}

// proxyChildren are the applied objects as the API server returned them.
type proxyChildren struct {
	route   *gatewayv1.HTTPRoute
	ingress *networkingv1.Ingress
}

// applyChildren creates or updates every object the spec asks for and deletes those it no
// longer asks for (only ones this MobileProxy controls).
func (r *MobileProxyReconciler) applyChildren(ctx context.Context, mp *pushv1alpha1.MobileProxy, up proxyUpstream, apis optionalAPIs) (proxyChildren, error) {
	var out proxyChildren
	profile := pushv1alpha1.ProfileGeneric
	if ing := mp.Spec.Exposure.Ingress; ing != nil {
		profile = ing.Profile
	}
	if svc := buildExternalService(mp, up, profile); svc != nil {
		if err := r.applyService(ctx, mp, svc); err != nil {
			return out, err
		}
	} else if err := r.deleteOwned(ctx, mp, &corev1.Service{}, externalServiceName(mp)); err != nil {
		return out, err
	}

	if apis.certManager {
		if cert := buildCertificate(mp); cert != nil {
			cur := &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Name: cert.Name, Namespace: cert.Namespace}}
			if err := r.apply(ctx, mp, cur, func() { mergeProxyLabels(cur, cert.Labels); cur.Spec = cert.Spec }); err != nil {
				return out, err
			}
		} else if err := r.deleteOwned(ctx, mp, &cmv1.Certificate{}, certificateName(mp)); err != nil {
			return out, err
		}
	}

	gatewayMode := mp.Spec.Exposure.Type != pushv1alpha1.ExposureIngress
	if apis.gateway {
		var err error
		if out.route, err = r.applyRoutes(ctx, mp, up, gatewayMode); err != nil {
			return out, err
		}
	}
	if apis.referenceGrant {
		var grant *gatewayv1.ReferenceGrant
		if gatewayMode {
			grant = buildReferenceGrant(mp)
		}
		if grant != nil {
			cur := &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Name: grant.Name, Namespace: grant.Namespace}}
			if err := r.apply(ctx, mp, cur, func() { mergeProxyLabels(cur, grant.Labels); cur.Spec = grant.Spec }); err != nil {
				return out, err
			}
		} else if err := r.deleteOwned(ctx, mp, &gatewayv1.ReferenceGrant{}, referenceGrantName(mp)); err != nil {
			return out, err
		}
	}
	if apis.backendTLSPolicy {
		// Built for gateway mode only: an Ingress controller takes the upstream scheme from
		// its annotations (profiles) and would not read the policy.
		if policy := buildBackendTLSPolicy(mp, up); policy != nil {
			cur := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Name: policy.Name, Namespace: policy.Namespace}}
			if err := r.apply(ctx, mp, cur, func() { mergeProxyLabels(cur, policy.Labels); cur.Spec = policy.Spec }); err != nil {
				return out, err
			}
		} else if err := r.deleteOwned(ctx, mp, &gatewayv1.BackendTLSPolicy{}, backendTLSPolicyName(mp)); err != nil {
			return out, err
		}
	}

	if gatewayMode {
		return out, r.deleteOwned(ctx, mp, &networkingv1.Ingress{}, ingressName(mp))
	}
	want := buildIngress(mp, up, mp.Spec.TLS.IssuerRef != nil && !apis.certManager)
	cur := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: want.Namespace}}
	err := r.apply(ctx, mp, cur, func() {
		mergeProxyLabels(cur, want.Labels)
		setOwnedAnnotations(cur, want.Annotations)
		class := cur.Spec.IngressClassName
		cur.Spec = want.Spec
		if want.Spec.IngressClassName == nil {
			// The DefaultIngressClass admission plugin filled it in on create; keep it.
			cur.Spec.IngressClassName = class
		}
	})
	out.ingress = cur
	return out, err
}

// applyRoutes applies the HTTPRoute and the redirect route in gateway mode, or deletes
// them in ingress mode. It returns the main route as stored.
func (r *MobileProxyReconciler) applyRoutes(ctx context.Context, mp *pushv1alpha1.MobileProxy, up proxyUpstream, gatewayMode bool) (*gatewayv1.HTTPRoute, error) {
	if !gatewayMode {
		if err := r.deleteOwned(ctx, mp, &gatewayv1.HTTPRoute{}, httpRouteName(mp)); err != nil {
			return nil, err
		}
		return nil, r.deleteOwned(ctx, mp, &gatewayv1.HTTPRoute{}, redirectRouteName(mp))
	}
	want := buildHTTPRoute(mp, up)
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: want.Namespace}}
	if err := r.apply(ctx, mp, route, func() { mergeProxyLabels(route, want.Labels); route.Spec = want.Spec }); err != nil {
		return nil, err
	}
	if redirect := buildRedirectRoute(mp); redirect != nil {
		cur := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: redirect.Name, Namespace: redirect.Namespace}}
		if err := r.apply(ctx, mp, cur, func() { mergeProxyLabels(cur, redirect.Labels); cur.Spec = redirect.Spec }); err != nil {
			return nil, err
		}
	} else if err := r.deleteOwned(ctx, mp, &gatewayv1.HTTPRoute{}, redirectRouteName(mp)); err != nil {
		return nil, err
	}
	return route, nil
}

// applyService sets only the fields of an ExternalName Service this operator owns, leaving
// the ones the API server fills in (sessionAffinity, ipFamilies, ...) alone.
func (r *MobileProxyReconciler) applyService(ctx context.Context, mp *pushv1alpha1.MobileProxy, want *corev1.Service) error {
	cur := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: want.Namespace}}
	return r.apply(ctx, mp, cur, func() {
		mergeProxyLabels(cur, want.Labels)
		if len(want.Annotations) > 0 {
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			maps.Copy(cur.Annotations, want.Annotations)
		}
		cur.Spec.Type = want.Spec.Type
		cur.Spec.ExternalName = want.Spec.ExternalName
		cur.Spec.Ports = want.Spec.Ports
	})
}

// apply creates obj or updates it when mutate changed it; an unchanged object costs no write.
func (r *MobileProxyReconciler) apply(ctx context.Context, mp *pushv1alpha1.MobileProxy, obj client.Object, mutate func()) error {
	op, err := controllerutil.CreateOrUpdate(ctx, r.Client, obj, func() error {
		mutate()
		return controllerutil.SetControllerReference(mp, obj, r.Scheme)
	})
	if err != nil {
		return fmt.Errorf("applying %T %s: %w", obj, obj.GetName(), err)
	}
	if op != controllerutil.OperationResultNone {
		ctrl.LoggerFrom(ctx).V(1).Info("applied", "kind", fmt.Sprintf("%T", obj), "name", obj.GetName(), "operation", op)
	}
	return nil
}

// deleteOwned deletes the named object if this MobileProxy controls it.
func (r *MobileProxyReconciler) deleteOwned(ctx context.Context, mp *pushv1alpha1.MobileProxy, obj client.Object, name string) error {
	err := r.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %T %s: %w", obj, name, err)
	}
	if !metav1.IsControlledBy(obj, mp) {
		return nil
	}
	if err := r.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting %T %s: %w", obj, name, err)
	}
	return nil
}

// ownedAnnotationsKey lists the annotation keys the operator set on an object, so that a key
// removed from the spec is removed from the object while annotations other tools add
// (external-dns, monitoring, a user's kubectl annotate) are left alone.
const ownedAnnotationsKey = "push.pushops.dev/owned-annotations"

// setOwnedAnnotations makes obj carry want, drops the keys it set earlier and no longer
// wants, and records which keys are now its own.
func setOwnedAnnotations(obj client.Object, want map[string]string) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	for _, k := range strings.Split(ann[ownedAnnotationsKey], ",") {
		if _, keep := want[k]; k != "" && !keep {
			delete(ann, k)
		}
	}
	maps.Copy(ann, want)
	if keys := slices.Sorted(maps.Keys(want)); len(keys) > 0 {
		ann[ownedAnnotationsKey] = strings.Join(keys, ",")
	} else {
		delete(ann, ownedAnnotationsKey)
	}
	if len(ann) == 0 {
		ann = nil
	}
	obj.SetAnnotations(ann)
}

func mergeProxyLabels(obj client.Object, want map[string]string) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, want)
	obj.SetLabels(labels)
}
