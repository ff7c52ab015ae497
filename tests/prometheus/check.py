#!/usr/bin/env python3
"""The checks of tests/prometheus/dashboards.sh (standard library and PyYAML only).

  startup       every pingan_* metric the dashboards and rules read is on /metrics (polled up to
                30 s after the start, before the test's traffic)
  wait-scraped  Prometheus scrapes pingan dev
  queries       every panel query, template variable, recording rule and alert returns data

A query "returns data" when Prometheus answers at least one sample with a finite value. What may
not is listed below with the reason, and the lists are checked both ways: a listed query that
returns data fails too, so the lists cannot go stale.
"""

import argparse
import glob
import json
import math
import os
import re
import sys
import time
import urllib.parse
import urllib.request

import yaml

# Grafana's variables, as a command room opens the boards: the release's namespace, every gRPC
# service and every station (the variables' allValue), and the rate window of a 1 s scrape.
VARIABLES = {
    "namespace": "pingan",
    "service": "pingan[.].+",
    "station": ".+",
    "release": "pingan",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}

# Panel queries on series that come from Kubernetes, not from Pingan: nothing exports them here.
KUBERNETES_ONLY = {
    "kube_deployment_status_replicas_available": "kube-state-metrics (no Kubernetes in this test)",
    "kube_deployment_spec_replicas": "kube-state-metrics (no Kubernetes in this test)",
    "kube_pod_container_status_restarts_total": "kube-state-metrics (no Kubernetes in this test)",
    "container_cpu_usage_seconds_total": "cAdvisor via the kubelet (no Kubernetes in this test)",
}

# Alerts are empty unless firing, and nothing may fire on a healthy system: each is evaluated as
# written (must be empty) and with `bool` comparisons (its condition's value, 0 while quiet),
# which must return data, except the Kubernetes-only ones (no source series at all here).
ALERTS_EMPTY_UNLESS_FIRING = {
    "PinganRpcErrorBudgetBurnFast": "fires only above 14.4x the error budget",
    "PinganRpcErrorBudgetBurnSlow": "fires only above 6x the error budget",
    "PinganRpcLatencyP99High": "fires only when p99 latency passes the objective",
    "PinganOutboxLagHigh": "fires only when an event waits over a minute",
    "PinganOutboxLagCritical": "fires only when an event waits over five minutes",
    "PinganDispatchSlaBreached": "fires only after a breach (the test's dispatch is on time)",
    "PinganDispatchSlaBreachesHigh": "fires only after several breaches in an hour",
    "PinganMetricsTargetDown": "fires only when a target cannot be scraped",
}

METRIC = re.compile(r"(?<![:\w])((?:pingan|kube|container)_[A-Za-z0-9_]+)")
VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def fetch(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def query(prometheus, expr):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        answer = json.loads(fetch(url))
    except urllib.error.HTTPError as err:
        return None, err.read().decode()
    if answer.get("status") != "success":
        return None, answer.get("error", "query failed")
    data = answer["data"]
    if data["resultType"] in ("scalar", "string"):
        return [{"metric": {}, "value": data["result"]}], None
    return data["result"], None


def finite(result):
    return [r for r in result if math.isfinite(float(r["value"][1]))]


def substitute(expr):
    def value(match):
        name = match.group(1)
        if name not in VARIABLES:
            raise SystemExit(f"FAIL: unknown Grafana variable ${name} in {expr}")
        return VARIABLES[name]

    return VARIABLE.sub(value, expr)


def dashboard_queries(folder):
    """(where, expr) of every target of every panel, and of every query variable."""
    queries = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        board = json.load(open(path))
        name = os.path.basename(path)
        for variable in board.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            q = variable["query"]
            q = q["query"] if isinstance(q, dict) else q
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q.strip())
            if not m:
                raise SystemExit(f"FAIL: {name}: variable {variable['name']}: not label_values(): {q}")
            queries.append((f"{name} variable ${variable['name']}", f"count by ({m.group(2)}) ({m.group(1)})"))
        panels = list(board.get("panels", []))
        while panels:
            panel = panels.pop(0)
            panels.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    queries.append((f"{name} panel {panel['title']!r} {target['refId']}", target["expr"]))
    return queries


def rules(path):
    groups = yaml.safe_load(open(path))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def with_bool(expr):
    """`expr` with `bool` after every comparison outside label matchers, strings and ranges."""
    out, depth, i = [], 0, 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            j = expr.index(c, i + 1)
            out.append(expr[i : j + 1])
            i = j + 1
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        if depth == 0:
            m = re.match(r"(==|!=|>=|<=|>|<)(\s*bool\b)?", expr[i:])
            if m:
                out.append(m.group(1) + " bool")
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def used_metrics(dashboards, rules_path):
    exprs = [e for _, e in dashboard_queries(dashboards)] + [r["expr"] for r in rules(rules_path)]
    names = set()
    for expr in exprs:
        # Label lists of by/without/on/ignoring name labels (pingan_component), not metrics.
        expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
        names.update(m for m in METRIC.findall(expr) if m.startswith("pingan_"))
    return names


def families(text):
    present = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            present.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return present


def startup(args):
    wanted = used_metrics(args.dashboards, args.rules)
    deadline = time.time() + 30
    while True:
        present = families(fetch(args.metrics))
        missing = sorted(wanted - present)
        if not missing or time.time() > deadline:
            break
        time.sleep(0.5)
    for name in sorted(wanted):
        print(f"{'ok  ' if name in present else 'FAIL'} exported from the start: {name}")
    if missing:
        raise SystemExit(f"FAIL: not exported before any traffic: {', '.join(missing)}")
    print(f"startup: all {len(wanted)} metrics the boards and rules read are exported")


def wait_scraped(args):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            result, _ = query(args.prometheus, 'up{job="pingan-dev"} == 1')
            if result:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("FAIL: prometheus has not scraped pingan dev in 60 s")


def check_queries(args):
    checks = []  # (where, expr, kind): kind is "data", "empty" or "kubernetes"
    for where, expr in dashboard_queries(args.dashboards):
        expr = substitute(expr)
        kube = [m for m in METRIC.findall(expr) if m in KUBERNETES_ONLY]
        checks.append((where, expr, "kubernetes" if kube else "data"))
    alerts = set()
    for rule in rules(args.rules):
        expr = rule["expr"].strip()
        kube = [m for m in METRIC.findall(expr) if m in KUBERNETES_ONLY]
        if "record" in rule:
            checks.append((f"rule {rule['record']} (expr)", expr, "data"))
            checks.append((f"rule {rule['record']} (recorded)", rule["record"], "data"))
            continue
        name = rule["alert"]
        alerts.add(name)
        checks.append((f"alert {name} (as written)", expr, "kubernetes" if kube else "empty"))
        if kube:
            checks.append((f"alert {name} (bool)", with_bool(expr), "kubernetes"))
        else:
            if name not in ALERTS_EMPTY_UNLESS_FIRING:
                raise SystemExit(f"FAIL: alert {name} is neither in ALERTS_EMPTY_UNLESS_FIRING nor on Kubernetes series")
            checks.append((f"alert {name} (bool)", with_bool(expr), "data"))
    stale = set(ALERTS_EMPTY_UNLESS_FIRING) - alerts
    if stale:
        raise SystemExit(f"FAIL: ALERTS_EMPTY_UNLESS_FIRING lists alerts the chart has not: {sorted(stale)}")

    # The traffic's effects reach the gauges within their recount (5 s for units, 30 s for
    # complaints) and the rules within a few evaluations: retry what fails for up to 60 s.
    deadline = time.time() + 60
    outcome = {}
    while True:
        for where, expr, kind in checks:
            if outcome.get(where, (False,))[0]:
                continue
            result, error = query(args.prometheus, expr)
            if error:
                outcome[where] = (False, f"error: {error}")
            elif kind == "data":
                good = finite(result)
                outcome[where] = (bool(good), f"{len(good)} series" if good else f"no finite sample ({len(result)} series)")
            elif kind == "empty":
                outcome[where] = (not result, "empty (not firing)" if not result else f"FIRING: {result[:3]}")
            else:
                outcome[where] = (not result, "empty: Kubernetes series" if not result else f"unexpected data: {result[:3]}")
        if all(ok for ok, _ in outcome.values()) or time.time() > deadline:
            break
        time.sleep(2)

    failed = 0
    for where, expr, kind in checks:
        ok, detail = outcome[where]
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {where}: {detail}")
        if not ok:
            print(f"       {expr}")
    for name, reason in ALERTS_EMPTY_UNLESS_FIRING.items():
        print(f"     expected empty as written: {name}: {reason}")
    for name, reason in KUBERNETES_ONLY.items():
        print(f"     expected empty: {name}: {reason}")
    print(f"queries: {len(checks) - failed} passed, {failed} failed")
    if failed:
        raise SystemExit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["startup", "wait-scraped", "queries", "with-bool"])
    parser.add_argument("--metrics")
    parser.add_argument("--prometheus")
    parser.add_argument("--rules")
    parser.add_argument("--dashboards")
    parser.add_argument("--expr")
    args = parser.parse_args()
    if args.command == "startup":
        startup(args)
    elif args.command == "wait-scraped":
        wait_scraped(args)
    elif args.command == "with-bool":
        print(with_bool(args.expr))
    else:
        check_queries(args)


if __name__ == "__main__":
    main()
