package pushservice

import (
	"math"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
)

// DefaultReplicas is the relay's replica count without spec.replicas or autoscaling: two,
// so a node drain or rollout never leaves the chat server without a relay.
const DefaultReplicas int32 = 2

// DesiredReplicas is what the Deployment's replicas field should say; nil when a
// HorizontalPodAutoscaler owns the count.
func DesiredReplicas(ps *pushv1alpha1.PushService) *int32 {
	switch {
	case ps.Spec.Suspend:
		return ptr.To[int32](0)
	case ps.Spec.Autoscaling != nil:
		return nil
	case ps.Spec.Replicas != nil:
		return ptr.To(*ps.Spec.Replicas)
	default:
		return ptr.To(DefaultReplicas)
	}
}

// Deployment runs the relay. image is the operator's default (--relay-image); configHash
// rolls the pods whenever the rendered configuration changes.
func Deployment(ps *pushv1alpha1.PushService, image, configHash string) *appsv1.Deployment {
	if ps.Spec.Image != "" {
		image = ps.Spec.Image
	}
	t := EffectiveTimeouts(ps)
	// The relay keeps serving for shutdownDelay, then drains sends bounded by send; the
	// kubelet must not kill it before that (the image has no shell for an exec preStop).
	grace := int64(math.Ceil((t.ShutdownDelay + t.Send).Seconds())) + drainMargin
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(ps, DeploymentName(ps)),
		Spec: appsv1.DeploymentSpec{
			Replicas: DesiredReplicas(ps),
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(ps)},
			// Never fewer ready relays than wanted during a rollout: a push that finds no
			// endpoint is lost (the chat server does not retry).
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
			RevisionHistoryLimit: ptr.To[int32](5),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      Labels(ps),
					Annotations: map[string]string{ConfigHashAnnotation: configHash},
				},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  ptr.To(false),
					EnableServiceLinks:            ptr.To(false),
					TerminationGracePeriodSeconds: ptr.To(grace),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](runAsID),
						RunAsGroup:     ptr.To[int64](runAsID),
						FSGroup:        ptr.To[int64](runAsID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers:                []corev1.Container{relayContainer(ps, image)},
					Volumes:                   []corev1.Volume{relayVolume(ps)},
					ImagePullSecrets:          ps.Spec.ImagePullSecrets,
					NodeSelector:              ps.Spec.NodeSelector,
					Tolerations:               ps.Spec.Tolerations,
					Affinity:                  ps.Spec.Affinity,
					TopologySpreadConstraints: topologySpread(ps),
				},
			},
		},
	}
}

func relayContainer(ps *pushv1alpha1.PushService, image string) corev1.Container {
	scheme := corev1.URISchemeHTTP
	if ps.Spec.TLS != nil {
		scheme = corev1.URISchemeHTTPS
	}
	probe := func(path string, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: path, Port: intstr.FromString(portName(ps)), Scheme: scheme,
			}},
			PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: failures,
		}
	}
	return corev1.Container{
		Name:            containerName,
		Image:           image,
		ImagePullPolicy: ps.Spec.ImagePullPolicy,
		Args:            []string{"--config=" + Path(ConfigFileName)},
		Ports: []corev1.ContainerPort{{
			Name: portName(ps), ContainerPort: RelayPort, Protocol: corev1.ProtocolTCP,
		}},
		Env:            proxyEnv(ps),
		Resources:      resources(ps),
		StartupProbe:   probe("/healthz", 12),
		LivenessProbe:  probe("/healthz", 3),
		ReadinessProbe: probe("/readyz", 2),
		VolumeMounts:   []corev1.VolumeMount{{Name: volumeName, MountPath: ConfigDir, ReadOnly: true}},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			RunAsNonRoot:             ptr.To(true),
			Privileged:               ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

func portName(ps *pushv1alpha1.PushService) string { return Scheme(ps) }

// proxyEnv points outbound connections at the egress proxy in mode forward. The cluster's
// own addresses bypass it so in-cluster names keep working.
func proxyEnv(ps *pushv1alpha1.PushService) []corev1.EnvVar {
	fw := ps.Spec.Forward
	if ps.Spec.Mode != pushv1alpha1.PushModeForward || fw == nil || fw.EgressProxy == "" {
		return nil
	}
	noProxy := append([]string{".svc", ".cluster.local", "localhost", "127.0.0.1"}, fw.NoProxy...)
	return []corev1.EnvVar{
		{Name: "HTTPS_PROXY", Value: fw.EgressProxy},
		{Name: "HTTP_PROXY", Value: fw.EgressProxy},
		{Name: "NO_PROXY", Value: strings.Join(noProxy, ",")},
	}
}

func resources(ps *pushv1alpha1.PushService) corev1.ResourceRequirements {
	if ps.Spec.Resources != nil {
		return *ps.Spec.Resources
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("50m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
}

// topologySpread spreads relays over nodes when the user gave no placement of their own,
// softly, so a one-node cluster still runs them all.
func topologySpread(ps *pushv1alpha1.PushService) []corev1.TopologySpreadConstraint {
	if len(ps.Spec.TopologySpreadConstraints) > 0 || ps.Spec.Affinity != nil {
		return ps.Spec.TopologySpreadConstraints
	}
	return []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       corev1.LabelHostname,
		WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: SelectorLabels(ps)},
	}}
}

// relayVolume is one read-only projected volume: the ConfigMap's relay.yaml plus every
// referenced Secret key at the path the config names. Secret updates reach the files in
// place (no subPath), which is how the relay hot-reloads credentials without a restart.
func relayVolume(ps *pushv1alpha1.PushService) corev1.Volume {
	sources := []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(ps)},
		Items:                []corev1.KeyToPath{{Key: ConfigFileName, Path: ConfigFileName}},
	}}}
	items := map[string][]corev1.KeyToPath{}
	var order []string
	add := func(secret, key, file string) {
		if key == "" {
			return
		}
		if _, ok := items[secret]; !ok {
			order = append(order, secret)
		}
		items[secret] = append(items[secret], corev1.KeyToPath{Key: key, Path: file})
	}
	for _, r := range CredentialRefs(ps) {
		add(r.Secret, r.Key, r.File)
		add(r.Secret, r.PasswordKey, r.PasswordFile)
		add(r.Secret, r.CertKey, r.CertFile)
	}
	for _, secret := range order {
		its := items[secret]
		sort.Slice(its, func(i, j int) bool { return its[i].Path < its[j].Path })
		sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret},
			Items:                its,
		}})
	}
	return corev1.Volume{Name: volumeName, VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: sources, DefaultMode: ptr.To[int32](0o440)},
	}}
}
