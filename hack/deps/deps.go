//go:build tools

// Package deps keeps the libraries that work in progress is about to use in go.mod while
// several changes land in parallel. Remove an import once real code uses the package.
package deps

import (
	_ "firebase.google.com/go/v4/messaging"
	_ "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	_ "github.com/go-logr/zapr"
	_ "github.com/sideshow/apns2"
	_ "golang.org/x/time/rate"
	_ "sigs.k8s.io/gateway-api/apis/v1"
)
