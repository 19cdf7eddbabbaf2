# push-operator — kubebuilder-style targets. `make help` lists them.

# Image names used by deploy and docker-build.
IMG ?= ghcr.io/pushops/push-operator:dev
RELAY_IMG ?= ghcr.io/pushops/push-relay:dev

# Kubernetes binaries built from Go modules (hack/k8s-bins), never downloaded.
K8S_VERSION ?= v1.37.2
K8S_BIN_DIR ?= $(CURDIR)/bin/k8s
K8S_BINS := $(K8S_BIN_DIR)/kube-apiserver $(K8S_BIN_DIR)/etcd $(K8S_BIN_DIR)/kubectl
KUBECTL ?= $(K8S_BIN_DIR)/kubectl
KUSTOMIZE ?= $(KUBECTL) kustomize

# go test flags: the race detector is on by default; TEST_FLAGS adds more.
GO_TEST_FLAGS ?= -race -count=1
TEST_FLAGS ?=
CONTROLLER_GEN := go tool controller-gen
STATICCHECK := go tool staticcheck

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate CRDs and RBAC from the kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: ## Generate deepcopy methods from the kubebuilder markers.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go' | grep -v '^hack/k8s-bins/')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: ## gofmt check, go vet and staticcheck.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...

.PHONY: verify
verify: manifests generate ## Fail when generated files are not current.
	@if [ -n "$$(git status --porcelain -- api config charts)" ]; then \
		echo "Generated files are out of date; run 'make manifests generate' and commit:"; \
		git status --porcelain -- api config charts; git --no-pager diff --stat -- api config charts; exit 1; fi

.PHONY: test
test: k8s-bins verify lint ## Run every test against a real API server built from modules.
	KUBEBUILDER_ASSETS=$(K8S_BIN_DIR) go test $(GO_TEST_FLAGS) $(TEST_FLAGS) ./...

##@ Build

.PHONY: build
build: generate ## Build the manager and relay binaries into bin/.
	CGO_ENABLED=0 go build -trimpath -o bin/manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -o bin/relay ./cmd/relay

.PHONY: run
run: manifests generate ## Run the manager on this machine against the current kubeconfig.
	go run ./cmd/manager --metrics-bind-address=0 --health-probe-bind-address=:8081

.PHONY: docker-build
docker-build: ## Build the images with Docker (needs a Docker engine; none on CI machines).
	docker build --target manager -t $(IMG) .
	docker build --target relay -t $(RELAY_IMG) .

##@ Kubernetes binaries

.PHONY: k8s-bins
k8s-bins: $(K8S_BINS) ## Build kube-apiserver, etcd and kubectl from Go modules into bin/k8s (once).

K8S_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37

$(K8S_BIN_DIR)/kube-apiserver $(K8S_BIN_DIR)/kubectl: hack/k8s-bins/go.mod
	mkdir -p $(K8S_BIN_DIR)
	cd hack/k8s-bins && CGO_ENABLED=0 go build -trimpath -ldflags="$(K8S_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/$(notdir $@)

$(K8S_BIN_DIR)/etcd: hack/k8s-bins/go.mod
	mkdir -p $(K8S_BIN_DIR)
	cd hack/k8s-bins && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o $@ go.etcd.io/etcd/server/v3

##@ Deployment

.PHONY: install
install: manifests k8s-bins ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUSTOMIZE) config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests k8s-bins ## Remove the CRDs (and with them every PushService and MobileProxy).
	$(KUSTOMIZE) config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests k8s-bins ## Deploy the operator to the cluster of the current kubeconfig.
	$(KUSTOMIZE) config/default | sed 's|controller:latest|$(IMG)|' | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: k8s-bins ## Remove the operator from the cluster.
	$(KUSTOMIZE) config/default | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: clean
clean: ## Remove built binaries except the cached Kubernetes binaries.
	rm -f bin/manager bin/relay
