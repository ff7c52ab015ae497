#!/usr/bin/env bash
# The dashboards and alerts against a real Prometheus: starts `pingan dev`, checks that every
# metric the chart's dashboards and rules read is exported before any traffic, runs Debian's
# `prometheus` (temp dir, free port, 1 s scrapes, the chart's rules loaded), sends traffic through
# the `pingan` client (calls on two channels, a dispatch walked to on scene, a diversion to 12345,
# a complaint, a unit registered, unit statuses and positions), then evaluates every panel query
# of helm/pingan/dashboards/*.json and every rule of the rendered PrometheusRule through
# Prometheus' HTTP API (tests/prometheus/check.py). A missing prometheus or helm is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

PINGAN=${PINGAN:-target/debug/pingan}
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || true)}
HELM=${HELM:-$root/.tools/bin/helm}
export PYTHONPATH="$root/.tools/py${PYTHONPATH:+:$PYTHONPATH}"

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -x "$PINGAN" ]] || fail "no pingan binary at $PINGAN (cargo build -p pingan)"
[[ -n "$PROMETHEUS" && -x "$PROMETHEUS" ]] \
  || fail "no prometheus binary (apt-get install prometheus, or make helm-tools as root, or set PROMETHEUS)"
[[ -x "$HELM" ]] || fail "no helm at $HELM (make helm-tools)"
python3 -c 'import yaml' 2>/dev/null || fail "python3 has no PyYAML (make helm-tools installs it under .tools/py)"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- pingan dev -------------------------------------------------------------------------------
"$PINGAN" dev --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/pingan.log" 2>&1 &
pids+=($!)
endpoint="" metrics=""
for _ in $(seq 1 600); do
  endpoint=$(sed -n 's/^ *gRPC endpoint *//p' "$work/pingan.log" | head -n 1)
  metrics=$(sed -n 's|^ *metrics *http://\([^ ]*\)/metrics.*|\1|p' "$work/pingan.log" | head -n 1)
  [[ -n "$endpoint" && -n "$metrics" ]] && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$endpoint" && -n "$metrics" ]] || { cat "$work/pingan.log"; fail "pingan dev did not print its endpoints"; }
echo "pingan dev: gRPC $endpoint, metrics http://$metrics/metrics"

# --- the chart's rules, as Prometheus loads them ------------------------------------------------
# Release and namespace "pingan" (the reference rendering); the group intervals shortened to 1 s.
"$HELM" template pingan helm/pingan --namespace pingan \
  --set prometheusRule.enabled=true --set serviceMonitor.enabled=true \
  --show-only templates/prometheusrule.yaml >"$work/prometheusrule.yaml"
python3 - "$work/prometheusrule.yaml" "$work/rules.yaml" <<'PY'
import sys, yaml
rule = yaml.safe_load(open(sys.argv[1]))
groups = rule["spec"]["groups"]
for group in groups:
    group["interval"] = "1s"
yaml.safe_dump({"groups": groups}, open(sys.argv[2], "w"), sort_keys=False)
PY

# --- every metric exported from the start (before any traffic of ours) ----------------------------
python3 tests/prometheus/check.py startup --metrics "http://$metrics/metrics" \
  --rules "$work/rules.yaml" --dashboards helm/pingan/dashboards

# --- prometheus ---------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# One job scrapes everything, labelled as the ServiceMonitor would (namespace, pingan_component);
# one job per service scrapes the same process with every sample dropped, so `up` has the
# deployments' jobs the availability alert selects (pingan dev is all six in one process).
{
  cat <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [$work/rules.yaml]
scrape_configs:
  - job_name: pingan-dev
    static_configs:
      - targets: ["$metrics"]
        labels: {namespace: pingan, pingan_component: dev}
YAML
  for service in intake triage dispatch grid-registry case-followup complaints-audit; do
    cat <<YAML
  - job_name: pingan-$service
    static_configs:
      - targets: ["$metrics"]
        labels: {namespace: pingan, pingan_component: $service}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: ".+", action: drop}
YAML
  done
} >"$work/prometheus.yml"
"$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$port"
python3 tests/prometheus/check.py wait-scraped --prometheus "$prom" \
  || { cat "$work/prometheus.log"; fail "prometheus did not scrape pingan dev"; }

# --- traffic through the client --------------------------------------------------------------
client() { "$PINGAN" "$@" --endpoint "http://$endpoint"; }
report() { client call report --json "$@" >>"$work/calls.jsonl"; }
report --channel 110 --phone 13800138000 --lat 29.245 --lon 92.145 --description "有人落水了，快来救人"
report --channel 110 --phone 13800138001 --lat 29.245 --lon 92.145 --description "有人在打架，还拿着刀"
report --channel 110 --phone 13800138002 --lat 29.245 --lon 92.145 --description "我家停水三天了，物业不管"
report --channel 110 --phone 13800138003 --lat 29.245 --lon 92.145 --description "我要投诉派出所民警态度恶劣，不出警"
report --channel 12345 --phone 13800138004 --lat 29.27 --lon 92.17 --description "市民反映：家中老人走失两小时，患有老年痴呆"
python3 - "$work/calls.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"  call -> {r.get('outcome')} {r.get('classification', {}).get('category', '')} station={r.get('station_id')} units={r.get('assigned_unit_ids')}")
PY
# Walk the first dispatched call to on scene (the ring-to-on-scene clock of its station).
read -r dispatch unit < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("dispatch_id") and r.get("assigned_unit_ids"):
        print(r["dispatch_id"], r["assigned_unit_ids"][0]); break
' "$work/calls.jsonl")
[[ -n "${dispatch:-}" ]] || fail "no call was dispatched with a unit"
client dispatch ack "$dispatch" "$unit" >/dev/null
client dispatch en-route "$dispatch" "$unit" >/dev/null
client dispatch arrive "$dispatch" "$unit" >/dev/null
echo "  dispatch $dispatch: $unit acknowledged, en route, on scene"
# A unit registered after the start, through the public API as `pingan registry import` does it.
python3 - services/grid-registry/demo/jurisdiction.json "$work/jurisdiction.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
unit = dict(j["units"][0], unit_id="u-st-prom-test", callsign="PROM-1")
j["units"].append(unit)
json.dump(j, open(sys.argv[2], "w"), ensure_ascii=False)
PY
"$PINGAN" registry import "$work/jurisdiction.json" --endpoint "http://$endpoint" \
  --dispatch-endpoint "http://$endpoint" >/dev/null
# A unit no call took: the last of the jurisdiction (another station's).
spare=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["units"][-1]["unit_id"])' \
  services/grid-registry/demo/jurisdiction.json)
client units status "$spare" busy --reason "paperwork" >/dev/null
client units position "$spare" --lat 29.25 --lon 92.15 >/dev/null
client units near --lat 29.245 --lon 92.145 >/dev/null
client incidents list >/dev/null
client transfers overdue >/dev/null
client complaints list --reason "dashboards test: traffic for the complaint panels" >/dev/null
echo "  units: registered, one busy, a position; reads of incidents, transfers, complaints"

# --- the queries ------------------------------------------------------------------------------
python3 tests/prometheus/check.py queries --prometheus "$prom" --metrics "http://$metrics/metrics" \
  --rules "$work/rules.yaml" --dashboards helm/pingan/dashboards
