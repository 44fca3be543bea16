#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (run as root on Debian 12).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# git repositories, PostgreSQL's initdb/pg_ctl, kubectl for rendering manifests
apt-get install -y -qq git postgresql kubernetes-client >/dev/null
# Kubernetes tests: etcd, plus the toolchain scripts/build-kube.sh uses to build kube-apiserver and
# kube-controller-manager v1.20.2 from Debian's kubernetes source package (cached outside the repo)
apt-get install -y -qq etcd-server golang-go jq rsync make curl openssl >/dev/null
# The web UI's end-to-end tests (tests/e2e/ui): headless Chromium, driven by Playwright
apt-get install -y -qq chromium >/dev/null
# Task processes run in a bubblewrap sandbox (util-linux gives prlimit and setpriv)
apt-get install -y -qq bubblewrap util-linux >/dev/null
