# The conventional image build for machines with a Docker engine:
#   docker build --target manager -t push-operator .
#   docker build --target relay   -t push-relay .
# (CI machines have no engine; `make images`, from the install-paths work, builds the same
# images as OCI tarballs without one.)
FROM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY relay/ relay/
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags='-s -w' -o manager ./cmd/manager \
 && CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags='-s -w' -o relay ./cmd/relay

FROM gcr.io/distroless/static:nonroot AS manager
WORKDIR /
COPY --from=builder /workspace/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]

FROM gcr.io/distroless/static:nonroot AS relay
WORKDIR /
COPY --from=builder /workspace/relay /relay
USER 65532:65532
EXPOSE 8066
ENTRYPOINT ["/relay"]
