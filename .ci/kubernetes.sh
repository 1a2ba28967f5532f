#!/usr/bin/env bash
# Builds a real kube-apiserver + kube-controller-manager + kubectl (Debian's kubernetes source package, v1.20, offline
# with its vendor/ tree and Debian's golang-go) and installs etcd-server, for the Kubernetes integration tests.
# Idempotent: binaries are cached OUTSIDE the clone in $CROSSPATH_K8S_CACHE (default /var/cache/crosspath-k8s)
# and reused when present (the check takes milliseconds). The tests find them through the same variable / default;
# `make test` runs this first. Exits 1 when it cannot build (not root, apt or the build failed): the Kubernetes
# tests then skip naming this script, or error under CI=true (tests/servers.py).
set -euo pipefail

CACHE="${CROSSPATH_K8S_CACHE:-/var/cache/crosspath-k8s}"
BIN="$CACHE/bin"

TARGETS="kube-apiserver kube-controller-manager kubectl"
have_all() { for what in $TARGETS; do [ -x "$BIN/$what" ] || return 1; done; command -v etcd >/dev/null 2>&1; }
if have_all; then
  echo "kubernetes test binaries cached in $BIN"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "note: building the Kubernetes test control plane needs root (apt-get); the Kubernetes tests will skip:" \
       "run \`sudo .ci/kubernetes.sh\`" >&2
  exit 1
fi
echo "building the Kubernetes control plane once (about 5 to 20 minutes; cached in $CACHE)"
trap 'echo "note: the Kubernetes build failed (above); the Kubernetes tests will skip until \`sudo .ci/kubernetes.sh\` succeeds" >&2' ERR

# Source packages need a deb-src entry; add one for the release this machine runs.
SRC_LIST=/etc/apt/sources.list.d/crosspath-deb-src.sources
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  . /etc/os-release
  cat > "$SRC_LIST" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${VERSION_CODENAME}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  etcd-server golang-go dpkg-dev rsync make git ca-certificates >/dev/null

mkdir -p "$CACHE/src" "$BIN"
cd "$CACHE/src"
if ! ls -d kubernetes-*/ >/dev/null 2>&1; then
  apt-get source -qq kubernetes >/dev/null
fi
SRC_DIR="$(ls -d "$CACHE"/src/kubernetes-*/ | head -n1)"

# GOPATH layout: k8s.io/kubernetes -> the unpacked source tree (v1.20 predates module-only builds).
GOPATH_DIR="$CACHE/gopath"
mkdir -p "$GOPATH_DIR/src/k8s.io"
ln -sfn "${SRC_DIR%/}" "$GOPATH_DIR/src/k8s.io/kubernetes"
cd "$GOPATH_DIR/src/k8s.io/kubernetes"
export GOPATH="$GOPATH_DIR" GO111MODULE=off GOFLAGS= GOCACHE="$CACHE/gocache" GOPROXY=off
for what in $TARGETS; do
  if [ ! -x "$BIN/$what" ]; then
    make WHAT="cmd/$what" KUBE_VERBOSE=0
    cp "$(find _output -type f -name "$what" | head -n1)" "$BIN/$what"
  fi
done
echo "kubernetes test binaries built in $BIN"
