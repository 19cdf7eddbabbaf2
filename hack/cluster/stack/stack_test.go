package stack

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pushops/push-operator/internal/testenv"
	"github.com/pushops/push-operator/relay/fake"
)

func decode(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("manifest does not decode: %v\n%s", err, manifest)
		}
		if len(u.Object) > 0 {
			objs = append(objs, &u)
		}
	}
}

// TestManifestsAreAcceptedByTheAPIServer creates what the demo and the e2e tests apply
// against a real API server with the CRDs installed: the CRDs' validation accepts the
// PushService and MobileProxy, and Pod Security `restricted` in the app namespace admits the
// send-test Pod (the relay pods' own admission is covered by the controller tests).
func TestManifestsAreAcceptedByTheAPIServer(t *testing.T) {
	if _, err := os.Stat(filepath.Join(testenv.BinaryDir(), "kube-apiserver")); err != nil {
		t.Skipf("no kube-apiserver in %s (make k8s-bins): %v", testenv.BinaryDir(), err)
	}
	env := testenv.New()
	cfg, err := testenv.Start(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := fake.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	p8, _, err := fake.APNsAuthKey()
	if err != nil {
		t.Fatal(err)
	}
	sa, err := fake.NewServiceAccount("p", "https://"+FakeIP+":8444/token")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	create := func(manifest string, opts ...client.CreateOption) {
		t.Helper()
		for _, obj := range decode(t, manifest) {
			if err := c.Create(ctx, obj, opts...); err != nil {
				t.Errorf("%s %s refused: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	}
	create(appNamespaceYAML(&Creds{CA: ca.CertPEM, APNsKey: p8, ServiceAccount: sa.JSON}))
	dry := client.DryRunAll
	create(PushServiceYAML("push", 2, "info"), dry)
	create(PushServiceYAML("push", 3, "debug"), dry)
	create(MobileProxyYAML("chat"), dry)
	create(sendTestPodYAML("send-test", "10.96.0.10", "apple", "token"), dry)

	// The namespace really enforces restricted: a Pod without a restricted security context
	// is refused.
	plainPod := `apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: ` + AppNamespace + `}
spec:
  containers:
  - {name: c, image: ` + RelayImage + `}
`
	for _, obj := range decode(t, plainPod) {
		err := c.Create(ctx, obj, dry)
		if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Errorf("a Pod without a restricted security context was not refused: %v", err)
		}
	}
}
