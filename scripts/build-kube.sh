#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager v1.20.2 from Debian bookworm's `kubernetes`
# source package (its orig tarball carries vendor/, so the build is offline) into a cache outside
# the repository. The tests start these binaries with etcd from Debian's etcd-server.
#
#   scripts/build-kube.sh [DEST_DIR]   (default: $WEIR_KUBE_BIN_DIR or ~/.cache/weir-tests/kube/v1.20.2/bin)
#
# Does nothing when both binaries are already present. Takes 7-11 minutes on 2 idle cores (21 under
# a load of 20) and about 2.5 GB of scratch disk, removed afterwards. Needs root for apt-get (or the packages installed).
set -euo pipefail
DEST=$(realpath -m "${1:-${WEIR_KUBE_BIN_DIR:-$HOME/.cache/weir-tests/kube/v1.20.2/bin}}")
if [[ -x "$DEST/kube-apiserver" && -x "$DEST/kube-controller-manager" ]]; then
  echo "kube binaries already in $DEST"
  exit 0
fi
VERSION=1.20.5+really1.20.2
SHA256=b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc  # bookworm main/source/Sources
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=(golang-go etcd-server jq rsync make ca-certificates curl openssl)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt run instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/weir-kube-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
tarball="kubernetes_${VERSION}.orig.tar.gz"
curl -fsSLO "$MIRROR/pool/main/k/kubernetes/$tarball"
echo "$SHA256  $tarball" | sha256sum -c - >/dev/null
tar xzf "$tarball"
rm "$tarball"
cd kubernetes-1.20.2
# The GOPATH layout debian/rules uses; plain `go build -mod=vendor` fails with Go 1.19.
export GOPATH=$PWD/.go CGO_ENABLED=0 HOME=$WORK/home GOPROXY=off
mkdir -p .go/src/k8s.io "$HOME"
ln -s ../../.. .go/src/k8s.io/kubernetes
start=$(date +%s)
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager"
mkdir -p "$DEST"
install -m755 _output/bin/kube-apiserver _output/bin/kube-controller-manager "$DEST"/
echo "built in $(($(date +%s) - start)) s: $("$DEST"/kube-apiserver --version)"
