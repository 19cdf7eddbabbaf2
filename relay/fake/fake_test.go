package fake

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUpdateMountedSecretSwapsLikeTheKubelet(t *testing.T) {
	dir := t.TempDir()
	if err := UpdateMountedSecret(dir, map[string][]byte{"key": []byte("one")}); err != nil {
		t.Fatal(err)
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))
	if err := UpdateMountedSecret(dir, map[string][]byte{"key": []byte("two")}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "key")); err != nil || string(b) != "two" {
		t.Errorf("key reads %q, %v after the update", b, err)
	}
	if link, _ := os.Readlink(filepath.Join(dir, "key")); link != filepath.Join("..data", "key") {
		t.Errorf("key links to %q, want through ..data", link)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("the previous generation %s is still there (%v)", first, err)
	}
}

func TestStatusesAreApples(t *testing.T) {
	for reason, status := range map[string]int{
		"": 200, "BadDeviceToken": 400, "Unregistered": 410, "PayloadTooLarge": 413, "TooManyRequests": 429,
		"InternalServerError": 500, "ServiceUnavailable": 503, "InvalidProviderToken": 403, "MethodNotAllowed": 405,
	} {
		if got := APNsStatus(reason); got != status {
			t.Errorf("APNsStatus(%q) = %d, want %d", reason, got, status)
		}
	}
	for code, status := range map[string]int{
		"UNREGISTERED": 404, "SENDER_ID_MISMATCH": 403, "INVALID_ARGUMENT": 400, "QUOTA_EXCEEDED": 429,
		"UNAVAILABLE": 503, "INTERNAL": 500, "THIRD_PARTY_AUTH_ERROR": 401,
	} {
		if got := FCMStatus(code); got != status {
			t.Errorf("FCMStatus(%q) = %d, want %d", code, got, status)
		}
	}
}

func TestRulesApplyInOrderAndWearOut(t *testing.T) {
	var r rules
	r.add(Rule{TokenPrefix: "flaky", Reason: "ServiceUnavailable", Times: 2}, Rule{TokenPrefix: "fl", Reason: "BadDeviceToken"})
	var got []string
	for range 4 {
		got = append(got, r.match("flaky-1").Reason)
	}
	want := []string{"ServiceUnavailable", "ServiceUnavailable", "BadDeviceToken", "BadDeviceToken"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("answers %v, want %v", got, want)
		}
	}
	if r.match("other").Reason != "" {
		t.Error("a token no rule names is not delivered")
	}
}
