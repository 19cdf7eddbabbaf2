package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"

	"github.com/pushops/push-operator/relay/fake"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// pemKey is the service account's private key as PEM, for the ceiling's own token source.
func pemKey(sa *fake.ServiceAccount) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(sa.Key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
