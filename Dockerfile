# Weir's image, as the Kubernetes manifests in gitops/deploy run it (docs/kubernetes.md):
#   docker build -t registry.example.com/weir:0.1.0 .
FROM python:3.11-slim

# git: the GitOps reconciler and the git tasks clone repositories with it. bubblewrap: task
# processes run in its sandbox (docs/security.md says what the container must allow for it).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY controlplane ./controlplane
RUN pip install --no-cache-dir . && rm -rf /src

# A numeric user, so that Kubernetes can check runAsNonRoot.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp weir \
    && mkdir -p /var/lib/weir && chown 10001:10001 /var/lib/weir
USER 10001:10001
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 WEIR_HOME=/var/lib/weir HOME=/tmp
WORKDIR /var/lib/weir

ENTRYPOINT ["weir"]
CMD ["server", "standalone", "--host", "0.0.0.0", "--auth", "tokens"]
