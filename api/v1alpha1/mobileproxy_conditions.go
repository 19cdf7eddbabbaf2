package v1alpha1

// Conditions and reasons of a MobileProxy. Ready is True only when the certificate would be
// accepted by a phone, the route or Ingress is admitted, and the chat server's Service exists.
const (
	// MobileProxyCertificateValid says whether phones will accept the served certificate.
	MobileProxyCertificateValid = "CertificateValid"
	// MobileProxyAdmitted says whether the Gateway or Ingress controller took the route.
	MobileProxyAdmitted = "Admitted"
	// MobileProxyBackendAvailable says whether the chat server's Service exists with the port.
	MobileProxyBackendAvailable = "BackendAvailable"

	// ReasonCertificateAccepted: the chain verifies, covers every host, and is not close to expiry.
	ReasonCertificateAccepted = "Accepted"
	// ReasonCertificateExpiringSoon: valid, but expires within 30 days.
	ReasonCertificateExpiringSoon = "ExpiringSoon"
	// ReasonSecretNotFound: the TLS Secret does not exist (yet).
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonCertificatePending: cert-manager has not written the Secret yet.
	ReasonCertificatePending = "CertificatePending"
	// ReasonTrustedCABundleInvalid: tls.trustedCABundle is missing or holds no certificate.
	ReasonTrustedCABundleInvalid = "TrustedCABundleInvalid"
	// ReasonCertManagerNotInstalled: issuerRef is set but the cert-manager CRDs are missing.
	ReasonCertManagerNotInstalled = "CertManagerNotInstalled"

	// ReasonGatewayAPINotInstalled: the Gateway API CRDs are not installed.
	ReasonGatewayAPINotInstalled = "GatewayAPINotInstalled"
	// ReasonGatewayNotFound: the parent Gateway does not exist.
	ReasonGatewayNotFound = "GatewayNotFound"
	// ReasonRouteAccepted: the Gateway accepted the HTTPRoute and resolved its backends.
	ReasonRouteAccepted = "RouteAccepted"
	// ReasonRouteNotAccepted: the Gateway reported Accepted=False or ResolvedRefs=False.
	ReasonRouteNotAccepted = "RouteNotAccepted"
	// ReasonAwaitingController: no Gateway or Ingress controller has reported on the route.
	ReasonAwaitingController = "AwaitingController"
	// ReasonAddressAssigned: the Ingress controller published an address.
	ReasonAddressAssigned = "AddressAssigned"

	// ReasonServiceFound: the backend Service exists and has the port.
	ReasonServiceFound = "ServiceFound"
	// ReasonServiceNotFound: the backend Service does not exist.
	ReasonServiceNotFound = "ServiceNotFound"
	// ReasonPortNotFound: the backend Service lacks the port.
	ReasonPortNotFound = "PortNotFound"
	// ReasonPushServiceNotFound: spec.pushService names no PushService.
	ReasonPushServiceNotFound = "PushServiceNotFound"
	// ReasonRelayServesTLS: the PushService serves TLS itself; the proxy speaks plain HTTP to it.
	ReasonRelayServesTLS = "RelayServesTLS"
	// ReasonExternalUpstream: the chat server is outside the cluster (externalURL).
	ReasonExternalUpstream = "ExternalUpstream"
	// ReasonBackendTLSPolicyNotInstalled: the chat server is outside the cluster at an
	// https:// externalURL, but the BackendTLSPolicy CRD is not installed, so the operator
	// cannot ask the Gateway to speak TLS to it. The condition stays True: whether the Gateway
	// speaks TLS without a policy (from the Service port's appProtocol) is up to its
	// implementation.
	ReasonBackendTLSPolicyNotInstalled = "BackendTLSPolicyNotInstalled"

	// ReasonAvailable: every condition is satisfied.
	ReasonAvailable = "Available"
)
