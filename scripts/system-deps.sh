#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (run as root on Debian 12). A tool already on
# PATH from elsewhere (kubectl from another repository, say) is left as it is.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  # git repositories, PostgreSQL's initdb/pg_ctl
  git postgresql
  # Kubernetes tests: etcd, plus the toolchain scripts/build-kube.sh uses to build kube-apiserver
  # and kube-controller-manager v1.20.2 from Debian's kubernetes source package (cached outside
  # the repository)
  etcd-server golang-go jq rsync make curl openssl
  # The web UI's end-to-end tests (tests/e2e/ui): headless Chromium, driven by Playwright
  chromium
  # Task processes run in a bubblewrap sandbox (util-linux gives prlimit and setpriv)
  bubblewrap util-linux
  # The Redis tasks' tests start a redis-server of their own
  redis-server
)
# kubectl renders the Kubernetes manifests
command -v kubectl >/dev/null || packages+=(kubernetes-client)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
