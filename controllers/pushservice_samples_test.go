package controllers

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	pushv1alpha1 "github.com/pushops/push-operator/api/v1alpha1"
	"github.com/pushops/push-operator/internal/credentials/credtest"
	"github.com/pushops/push-operator/internal/testenv"
)

// The shipped PushService samples are accepted by a real API server and, given their
// Secrets, pass the credential check.
func TestPushServiceSamplesAreAccepted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "push_v1alpha1_pushservice*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("want the direct and forward samples, found %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var ps pushv1alpha1.PushService
			if err := yaml.UnmarshalStrict(data, &ps); err != nil {
				t.Fatalf("sample does not match the Go types: %v", err)
			}
			ns := newNamespace(t)
			ps.Namespace = ns
			createSecret(t, ns, "apns-key", map[string][]byte{"authkey.p8": credtest.APNsAuthKey()})
			createSecret(t, ns, "fcm", map[string][]byte{"service-account.json": credtest.ServiceAccountJSON("p")})
			if err := k8sClient.Create(context.Background(), &ps); err != nil {
				t.Fatalf("the API server refused the sample: %v", err)
			}
			psvcEventually(t, psTimeout, conditionIs(&ps, pushv1alpha1.ConditionCredentialsValid, metav1.ConditionTrue, pushv1alpha1.ReasonCredentialsLoaded))
		})
	}
}
