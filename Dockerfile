# ---- build stage -----------------------------------------------------------
FROM golang:1.26-bookworm AS build

WORKDIR /src

# Module downloads are cached in their own layer: they only change with go.mod/go.sum.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && go mod verify

COPY . .

# Static, cgo-free binary; migrations are embedded, so the binary is all we ship.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/corsia .

# ---- runtime stage ---------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot AS runtime

ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="corsia" \
      org.opencontainers.image.description="Corsia electronic clinical record: API, workers, migrations" \
      org.opencontainers.image.source="https://github.com/corsia-cce/corsia" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=build --chown=65532:65532 /out/corsia /corsia

ENV HTTP_ADDR=:8080
EXPOSE 8080

# distroless "nonroot" is uid/gid 65532; stated explicitly so it cannot be lost.
USER 65532:65532

# No HEALTHCHECK here: one image runs api, workers and the one-shot migrate,
# so each compose service declares its own (`/corsia healthcheck ...`; the
# image has no curl).

ENTRYPOINT ["/corsia"]
CMD ["api"]
