package controllers

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/controllers/pushservice"
	"github.com/pushops/push-operator/internal/certcheck"
)

// proxyObservation is what the cluster reports about one MobileProxy, as conditions.
type proxyObservation struct {
	certificate  metav1.Condition
	admitted     metav1.Condition
	backend      metav1.Condition
	certStatus   *pushv1alpha1.CertificateStatus
	recheckAfter time.Duration
}

func proxyCond(t string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}

func (r *MobileProxyReconciler) observe(ctx context.Context, mp *pushv1alpha1.MobileProxy, up proxyUpstream, apis optionalAPIs, ch proxyChildren) (proxyObservation, error) {
	var obs proxyObservation
	var err error
	if obs.certificate, obs.certStatus, obs.recheckAfter, err = r.judgeCertificate(ctx, mp, apis); err != nil {
		return obs, err
	}
	if obs.admitted, err = r.admission(ctx, mp, apis, ch); err != nil {
		return obs, err
	}
	if obs.backend, err = r.backendAvailability(ctx, mp, up, apis); err != nil {
		return obs, err
	}
	return obs, nil
}

// judgeCertificate reads the TLS Secret and judges it as a phone would. recheck is when the
// verdict changes by itself (30 days before expiry, at expiry), bounded to a day.
func (r *MobileProxyReconciler) judgeCertificate(ctx context.Context, mp *pushv1alpha1.MobileProxy, apis optionalAPIs) (c metav1.Condition, st *pushv1alpha1.CertificateStatus, recheck time.Duration, err error) {
	const t = pushv1alpha1.MobileProxyCertificateValid
	name := tlsSecretName(mp)
	var secret corev1.Secret
	err = r.APIReader.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: name}, &secret)
	switch {
	case apierrors.IsNotFound(err):
		if mp.Spec.TLS.IssuerRef == nil {
			return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonSecretNotFound,
				fmt.Sprintf("TLS Secret %q does not exist. Create it (kubectl create secret tls %s --cert=fullchain.pem --key=key.pem) or use tls.issuerRef with cert-manager.", name, name)), nil, 0, nil
		}
		if !apis.certManager {
			return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonCertManagerNotInstalled,
				fmt.Sprintf("tls.issuerRef needs cert-manager, whose CRDs are not installed: install cert-manager, or put a certificate in a Secret and set tls.secretName. Waiting for Secret %q.", name)), nil, 0, nil
		}
		return proxyCond(t, metav1.ConditionUnknown, pushv1alpha1.ReasonCertificatePending,
			fmt.Sprintf("Waiting for cert-manager to issue Certificate %q into Secret %q; see kubectl describe certificate %s.", certificateName(mp), name, certificateName(mp))), nil, 0, nil
	case err != nil:
		return c, nil, 0, fmt.Errorf("reading TLS Secret %s: %w", name, err)
	}

	roots, err := r.trustedRoots(ctx, mp)
	if err != nil {
		return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonTrustedCABundleInvalid, err.Error()), nil, 0, nil
	}
	now := r.Now()
	res := certcheck.Judge(certcheck.Input{
		CertPEM: secret.Data[corev1.TLSCertKey],
		KeyPEM:  secret.Data[corev1.TLSPrivateKeyKey],
		CAPEM:   secret.Data["ca.crt"],
		Hosts:   proxyHosts(mp),
		Roots:   roots,
		Now:     now,
	})
	if !res.NotAfter.IsZero() {
		st = &pushv1alpha1.CertificateStatus{NotAfter: &metav1.Time{Time: res.NotAfter.UTC().Truncate(time.Second)}, Issuer: res.Issuer, DNSNames: res.DNSNames}
		recheck = nextChange(now, res.NotAfter)
	}
	status := metav1.ConditionFalse
	if res.Verdict.Accepted() {
		status = metav1.ConditionTrue
	}
	reason := string(res.Verdict)
	if res.Verdict == certcheck.Valid {
		reason = pushv1alpha1.ReasonCertificateAccepted
	}
	return proxyCond(t, status, reason, res.Message), st, recheck, nil
}

// nextChange is when a certificate's verdict changes with time alone.
func nextChange(now, notAfter time.Time) time.Duration {
	next := 24 * time.Hour
	for _, at := range []time.Time{notAfter.Add(-certcheck.ExpiryWarning), notAfter} {
		if d := at.Sub(now); d > 0 && d < next {
			next = d + time.Second
		}
	}
	return next
}

func (r *MobileProxyReconciler) trustedRoots(ctx context.Context, mp *pushv1alpha1.MobileProxy) (*x509.CertPool, error) {
	ref := mp.Spec.TLS.TrustedCABundle
	if ref == nil {
		return certcheck.RootsWithBundle(nil)
	}
	var cm corev1.ConfigMap
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: ref.Name}, &cm); err != nil {
		return nil, fmt.Errorf("reading tls.trustedCABundle ConfigMap %q: %w", ref.Name, err)
	}
	key := ref.Key
	if key == "" {
		key = "ca.crt"
	}
	pool, err := certcheck.RootsWithBundle([]byte(cm.Data[key]))
	if err != nil {
		return nil, fmt.Errorf("tls.trustedCABundle ConfigMap %q key %q: %w", ref.Name, key, err)
	}
	return pool, nil
}

// admission reports whether the Gateway (from the HTTPRoute's status) or the Ingress
// controller (from the Ingress's published address) took the route.
func (r *MobileProxyReconciler) admission(ctx context.Context, mp *pushv1alpha1.MobileProxy, apis optionalAPIs, ch proxyChildren) (metav1.Condition, error) {
	const t = pushv1alpha1.MobileProxyAdmitted
	if mp.Spec.Exposure.Type == pushv1alpha1.ExposureIngress {
		if ch.ingress != nil && len(ch.ingress.Status.LoadBalancer.Ingress) > 0 {
			return proxyCond(t, metav1.ConditionTrue, pushv1alpha1.ReasonAddressAssigned, "The Ingress controller published an address for the Ingress."), nil
		}
		return proxyCond(t, metav1.ConditionUnknown, pushv1alpha1.ReasonAwaitingController,
			fmt.Sprintf("Waiting for an Ingress controller to publish an address for Ingress %q; check that spec.exposure.ingress.className names an installed IngressClass.", ingressName(mp))), nil
	}
	if !apis.gateway {
		return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonGatewayAPINotInstalled,
			"The Gateway API CRDs (standard channel) are not installed: install them with a Gateway implementation, or set exposure.type: ingress."), nil
	}
	key := gatewayKey(mp)
	var gw gatewayv1.Gateway
	ref := mp.Spec.Exposure.Gateway.ParentRef
	if err := r.Get(ctx, client.ObjectKey{Namespace: proxyOrDefault(ref.Namespace, mp.Namespace), Name: ref.Name}, &gw); err != nil {
		if apierrors.IsNotFound(err) {
			return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonGatewayNotFound,
				fmt.Sprintf("Gateway %s does not exist: create it or fix exposure.gateway.parentRef.", key)), nil
		}
		return metav1.Condition{}, fmt.Errorf("reading Gateway %s: %w", key, err)
	}
	return routeAdmission(mp, ch.route), nil
}

// routeAdmission reads the route's status entry written by the Gateway for our parent.
func routeAdmission(mp *pushv1alpha1.MobileProxy, route *gatewayv1.HTTPRoute) metav1.Condition {
	const t = pushv1alpha1.MobileProxyAdmitted
	ref := mp.Spec.Exposure.Gateway.ParentRef
	if route != nil {
		for _, p := range route.Status.Parents {
			if string(p.ParentRef.Name) != ref.Name || string(proxyPtrOr(p.ParentRef.Namespace, gatewayv1.Namespace(mp.Namespace))) != proxyOrDefault(ref.Namespace, mp.Namespace) ||
				string(proxyPtrOr(p.ParentRef.SectionName, "")) != ref.SectionName {
				continue
			}
			for _, ct := range []string{string(gatewayv1.RouteConditionAccepted), string(gatewayv1.RouteConditionResolvedRefs)} {
				c := meta.FindStatusCondition(p.Conditions, ct)
				if c != nil && c.Status == metav1.ConditionFalse {
					return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonRouteNotAccepted,
						fmt.Sprintf("Gateway %s reports %s=False (%s): %s", ref.Name, ct, c.Reason, c.Message))
				}
			}
			accepted := meta.IsStatusConditionTrue(p.Conditions, string(gatewayv1.RouteConditionAccepted))
			resolved := meta.IsStatusConditionTrue(p.Conditions, string(gatewayv1.RouteConditionResolvedRefs))
			if accepted && resolved {
				return proxyCond(t, metav1.ConditionTrue, pushv1alpha1.ReasonRouteAccepted,
					fmt.Sprintf("Gateway %s accepted HTTPRoute %q and resolved its backends.", ref.Name, httpRouteName(mp)))
			}
		}
	}
	return proxyCond(t, metav1.ConditionUnknown, pushv1alpha1.ReasonAwaitingController,
		fmt.Sprintf("Waiting for the Gateway controller of %s to accept HTTPRoute %q; check the listener's allowedRoutes and hostname.", ref.Name, httpRouteName(mp)))
}

// backendAvailability checks the chat server's (and the relay's) Service and port.
func (r *MobileProxyReconciler) backendAvailability(ctx context.Context, mp *pushv1alpha1.MobileProxy, up proxyUpstream, apis optionalAPIs) (metav1.Condition, error) {
	const t = pushv1alpha1.MobileProxyBackendAvailable
	type want struct {
		what, name string
		port       int32
	}
	var wants []want
	if up.ExternalHost == "" {
		wants = append(wants, want{"chat server", up.ServiceName, up.Port})
	}
	if relay := relayServiceName(mp); relay != "" {
		if c, ok, err := r.relayUsable(ctx, mp); err != nil || !ok {
			return c, err
		}
		wants = append(wants, want{"PushService relay", relay, relayPort})
	}
	for _, w := range wants {
		var svc corev1.Service
		if err := r.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: w.name}, &svc); err != nil {
			if apierrors.IsNotFound(err) {
				return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonServiceNotFound,
					fmt.Sprintf("The %s Service %q does not exist in namespace %s.", w.what, w.name, mp.Namespace)), nil
			}
			return metav1.Condition{}, fmt.Errorf("reading Service %s: %w", w.name, err)
		}
		if !serviceHasPort(&svc, w.port) {
			return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonPortNotFound,
				fmt.Sprintf("The %s Service %q has no port %d.", w.what, w.name, w.port)), nil
		}
	}
	if up.ExternalHost != "" {
		return externalUpstream(mp, up, apis), nil
	}
	return proxyCond(t, metav1.ConditionTrue, pushv1alpha1.ReasonServiceFound, fmt.Sprintf("Service %q has port %d.", up.ServiceName, up.Port)), nil
}

// externalUpstream reports a chat server outside the cluster, and for an https:// one behind
// a Gateway whether the Gateway was told to speak TLS to it.
func externalUpstream(mp *pushv1alpha1.MobileProxy, up proxyUpstream, apis optionalAPIs) metav1.Condition {
	const t = pushv1alpha1.MobileProxyBackendAvailable
	msg := fmt.Sprintf("The chat server is outside the cluster at %s, reached through ExternalName Service %q.", mp.Spec.ExternalURL, up.ServiceName)
	if up.Scheme != "https" || mp.Spec.Exposure.Type == pushv1alpha1.ExposureIngress {
		return proxyCond(t, metav1.ConditionTrue, pushv1alpha1.ReasonExternalUpstream, msg)
	}
	if !apis.backendTLSPolicy {
		return proxyCond(t, metav1.ConditionTrue, pushv1alpha1.ReasonBackendTLSPolicyNotInstalled, msg+fmt.Sprintf(
			" No BackendTLSPolicy asks the Gateway to speak TLS to it: the BackendTLSPolicy CRD (Gateway API v1.4 or later, standard channel) is not installed, so Gateway implementations that need one will send plain HTTP to port %d. Install the CRD, or configure TLS to the upstream in your Gateway implementation.", up.Port))
	}
	roots := "the Gateway's system roots"
	if ca := upstreamCABundle(mp); ca != "" {
		roots = fmt.Sprintf("the CA certificates in ConfigMap %q (key ca.crt)", ca)
	}
	return proxyCond(t, metav1.ConditionTrue, pushv1alpha1.ReasonExternalUpstream, msg+fmt.Sprintf(
		" BackendTLSPolicy %q asks the Gateway to speak TLS to it and to verify its certificate for %s against %s.", backendTLSPolicyName(mp), up.ExternalHost, roots))
}

// relayUsable checks that the referenced PushService exists and speaks plain HTTP behind
// the proxy, which terminates TLS for it.
func (r *MobileProxyReconciler) relayUsable(ctx context.Context, mp *pushv1alpha1.MobileProxy) (metav1.Condition, bool, error) {
	const t = pushv1alpha1.MobileProxyBackendAvailable
	var ps pushv1alpha1.PushService
	if err := r.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: mp.Spec.PushService.Name}, &ps); err != nil {
		if apierrors.IsNotFound(err) {
			return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonPushServiceNotFound,
				fmt.Sprintf("PushService %q (spec.pushService) does not exist in namespace %s.", mp.Spec.PushService.Name, mp.Namespace)), false, nil
		}
		return metav1.Condition{}, false, fmt.Errorf("reading PushService %s: %w", mp.Spec.PushService.Name, err)
	}
	if pushservice.Scheme(&ps) == "https" {
		return proxyCond(t, metav1.ConditionFalse, pushv1alpha1.ReasonRelayServesTLS,
			fmt.Sprintf("PushService %q serves TLS itself, but this proxy reaches the relay over plain HTTP: remove its spec.tls (the proxy terminates TLS) or expose it with its own spec.ingress and drop spec.pushService.", ps.Name)), false, nil
	}
	return metav1.Condition{}, true, nil
}

func serviceHasPort(svc *corev1.Service, port int32) bool {
	for _, p := range svc.Spec.Ports {
		if p.Port == port {
			return true
		}
	}
	return false
}

func proxyPtrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func proxyOrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
