#!/usr/bin/env python3
"""Checks on a `helm template` rendering of the Pingan chart that schemas cannot express.

Usage: check_manifests.py RENDERED.yaml OUTDIR

Writes OUTDIR/core.yaml (every object with a built-in Kubernetes kind, for kubernetes-validate),
OUTDIR/crds.txt (the prometheus-operator objects left out of it) and OUTDIR/rules.yaml (the
PrometheusRule groups, for promtool). Then checks, and exits non-zero on any failure:
- containers: non-root, read-only root filesystem, no privilege escalation, ALL capabilities
  dropped, RuntimeDefault seccomp, resource requests and memory limits;
- Pingan services: readiness is the gRPC health of the service's own name; liveness and startup do
  not depend on the database (no gRPC health probe); grace periods cover preStop + drain;
- keys: every Pingan Deployment takes PINGAN_AUTH_SECRET and PINGAN_PII_KEY from the keys
  auth-secret and pii-key of one and the same Secret (no plain value, no ConfigMap copy), and a
  rendered Secret holds values of at least 32 characters;
- events: lease above the delivery timeout, initial backoff not above the maximum;
- wiring: every PINGAN_PEERS URL names a rendered Service and port; every secretKeyRef and
  configMapRef names an object of the rendering (or secrets.existingSecret) and a key it has;
  Service, NetworkPolicy, PDB and ServiceMonitor selectors match something; HPAs target a
  Deployment; the dashboard ConfigMap holds valid Grafana JSON.
Needs PyYAML (kubernetes-validate brings it).
"""

import base64
import json
import re
import sys
from pathlib import Path

import yaml

CRD_GROUPS = ("monitoring.coreos.com/", "cert-manager.io/")
GRPC_NAMES = {
    "intake": "pingan.intake.v1.IntakeService",
    "triage": "pingan.triage.v1.TriageService",
    "dispatch": "pingan.dispatch.v1.DispatchService",
    "grid-registry": "pingan.grid.v1.GridRegistryService",
    "case-followup": "pingan.followup.v1.CaseFollowupService",
    "complaints-audit": "pingan.audit.v1.ComplaintsAuditService",
}

# The keys the binary requires, each from this key of the release's Secret (the same for all six
# services), and the shortest value it accepts.
REQUIRED_SECRET_ENV = {"PINGAN_AUTH_SECRET": "auth-secret", "PINGAN_PII_KEY": "pii-key"}
MIN_KEY_LENGTH = 32
EVENTS_ENV = (
    "PINGAN_EVENTS_MAX_ATTEMPTS",
    "PINGAN_EVENTS_INITIAL_BACKOFF",
    "PINGAN_EVENTS_MAX_BACKOFF",
    "PINGAN_EVENTS_POLL_INTERVAL",
    "PINGAN_EVENTS_LEASE",
    "PINGAN_EVENTS_DELIVERY_TIMEOUT",
    "PINGAN_EVENTS_BATCH",
    "PINGAN_EVENTS_RETENTION",
)

failures = []


def fail(message):
    failures.append(message)


def name_of(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def selects(selector, labels):
    """True when a LabelSelector (matchLabels + matchExpressions) matches `labels`."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def duration_seconds(text):
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", text)
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def pod_spec(obj):
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]
    return None


def check_security(obj, template):
    spec = template["spec"]
    pod_sc = spec.get("securityContext") or {}
    if not pod_sc.get("runAsNonRoot"):
        fail(f"{name_of(obj)}: pod securityContext.runAsNonRoot is not true")
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        fail(f"{name_of(obj)}: pod seccompProfile is not RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        fail(f"{name_of(obj)}: automountServiceAccountToken is not false")
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        where = f"{name_of(obj)} container {container['name']}"
        sc = container.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(f"{where}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            fail(f"{where}: privileged")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            fail(f"{where}: capabilities do not drop ALL")
        if (sc.get("capabilities") or {}).get("add"):
            fail(f"{where}: adds capabilities")
        resources = container.get("resources") or {}
        if not (resources.get("requests") or {}).get("cpu") or not (resources.get("requests") or {}).get("memory"):
            fail(f"{where}: no cpu/memory requests")
        if not (resources.get("limits") or {}).get("memory"):
            fail(f"{where}: no memory limit")
        if container.get("image", "").endswith(":latest"):
            fail(f"{where}: image tag latest")


def check_pingan_deployment(obj, template, configmaps):
    component = obj["metadata"]["labels"].get("app.kubernetes.io/component")
    container = next(c for c in template["spec"]["containers"] if c["name"] == "pingan")
    where = name_of(obj)
    if container.get("args") != ["serve", component]:
        fail(f"{where}: args {container.get('args')} are not ['serve', '{component}']")
    readiness = container.get("readinessProbe") or {}
    want = GRPC_NAMES.get(component)
    if (readiness.get("grpc") or {}).get("service") != want:
        fail(f"{where}: readiness is not the gRPC health of {want}: {readiness}")
    for probe in ("livenessProbe", "startupProbe"):
        handler = container.get(probe) or {}
        if not handler:
            fail(f"{where}: no {probe}")
        elif "grpc" in handler:
            fail(f"{where}: {probe} is a gRPC health probe, which is NOT_SERVING while the database is down")
    env = {}
    for ref in container.get("envFrom") or []:
        cm = configmaps.get((ref.get("configMapRef") or {}).get("name"))
        if cm:
            env.update(cm.get("data") or {})
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = var["value"]
    grace = template["spec"].get("terminationGracePeriodSeconds", 30)
    pre_stop = (((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
    drain = duration_seconds(env.get("PINGAN_SHUTDOWN_GRACE", "25s"))
    if drain is None or grace < pre_stop + drain:
        fail(f"{where}: terminationGracePeriodSeconds {grace} < preStop {pre_stop} + shutdown grace {drain}")
    for key in ("PINGAN_LISTEN", "PINGAN_METRICS_LISTEN", "PINGAN_PEERS") + EVENTS_ENV:
        if key not in env:
            fail(f"{where}: {key} is not set")
    events = {key: duration_seconds(env.get(f"PINGAN_EVENTS_{key}", "")) for key in
              ("INITIAL_BACKOFF", "MAX_BACKOFF", "LEASE", "DELIVERY_TIMEOUT")}
    if None not in events.values():
        if events["LEASE"] <= events["DELIVERY_TIMEOUT"]:
            fail(f"{where}: PINGAN_EVENTS_LEASE is not above PINGAN_EVENTS_DELIVERY_TIMEOUT: "
                 "a slow delivery would be sent again by another replica while still in flight")
        if events["INITIAL_BACKOFF"] > events["MAX_BACKOFF"]:
            fail(f"{where}: PINGAN_EVENTS_INITIAL_BACKOFF is above PINGAN_EVENTS_MAX_BACKOFF")
    ports = {p["name"]: p["containerPort"] for p in container.get("ports") or []}
    if env.get("PINGAN_LISTEN", "").rsplit(":", 1)[-1] != str(ports.get("grpc")):
        fail(f"{where}: PINGAN_LISTEN {env.get('PINGAN_LISTEN')} is not the grpc port {ports.get('grpc')}")
    if env.get("PINGAN_METRICS_LISTEN", "").rsplit(":", 1)[-1] != str(ports.get("metrics")):
        fail(f"{where}: PINGAN_METRICS_LISTEN is not the metrics port")
    # With TLS readiness asks the plaintext health-only port: kubelet gRPC probes cannot speak TLS.
    probe_port = ports.get("grpc")
    if "PINGAN_TLS_CERT" in env:
        probe_port = ports.get("health")
        if env.get("PINGAN_HEALTH_LISTEN", "").rsplit(":", 1)[-1] != str(probe_port):
            fail(f"{where}: PINGAN_HEALTH_LISTEN {env.get('PINGAN_HEALTH_LISTEN')} is not the health port {probe_port}")
        mounts = {m["name"]: m for m in container.get("volumeMounts") or []}
        tls_mount = mounts.get("tls") or {}
        if "subPath" in tls_mount or not env["PINGAN_TLS_CERT"].startswith(tls_mount.get("mountPath", "//")):
            fail(f"{where}: PINGAN_TLS_CERT {env['PINGAN_TLS_CERT']} is not in the tls volume mounted whole")
    if (readiness.get("grpc") or {}).get("port") != probe_port:
        fail(f"{where}: readiness probes port {(readiness.get('grpc') or {}).get('port')}, not {probe_port}")
    return env


def check_required_keys(obj, container, configmaps):
    """PINGAN_AUTH_SECRET and PINGAN_PII_KEY: once each in env, from the release's Secret."""
    where = name_of(obj)
    refs = {}
    for var, key in REQUIRED_SECRET_ENV.items():
        entries = [e for e in container.get("env") or [] if e["name"] == var]
        if len(entries) != 1:
            fail(f"{where}: {var} is set {len(entries)} times in env, not once")
            continue
        ref = (entries[0].get("valueFrom") or {}).get("secretKeyRef")
        if "value" in entries[0] or ref is None:
            fail(f"{where}: {var} does not come from a Secret (secretKeyRef)")
            continue
        if ref.get("key") != key:
            fail(f"{where}: {var} comes from key {ref.get('key')}, not {key}")
        if ref.get("optional"):
            fail(f"{where}: {var} is optional: the service would not start without it")
        refs[var] = ref.get("name")
    for ref in container.get("envFrom") or []:
        cm = configmaps.get((ref.get("configMapRef") or {}).get("name")) or {}
        for var in REQUIRED_SECRET_ENV:
            if var in (cm.get("data") or {}):
                fail(f"{where}: {var} is in ConfigMap {cm['metadata']['name']} (a secret in plain text)")
    return set(refs.values())


def main():
    rendered, outdir = Path(sys.argv[1]), Path(sys.argv[2])
    outdir.mkdir(parents=True, exist_ok=True)
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]

    core = [d for d in docs if not d["apiVersion"].startswith(CRD_GROUPS)]
    crds = [d for d in docs if d["apiVersion"].startswith(CRD_GROUPS)]
    (outdir / "core.yaml").write_text(yaml.safe_dump_all(core, sort_keys=False))
    (outdir / "crds.txt").write_text("".join(f"{d['apiVersion']} {name_of(d)}\n" for d in crds))
    groups = [g for d in crds if d["kind"] == "PrometheusRule" for g in d["spec"]["groups"]]
    (outdir / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False) if groups else "")

    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    services = by_kind.get("Service", {})
    workloads = [d for d in docs if pod_spec(d) is not None]
    pod_labels = [(name_of(d), pod_spec(d)["metadata"]["labels"]) for d in workloads]
    existing_secret_refs = set()
    key_secrets = set()  # the Secrets the Pingan Deployments take the two keys from

    for obj in workloads:
        template = pod_spec(obj)
        check_security(obj, template)
        labels = obj["metadata"]["labels"]
        if obj["kind"] == "Deployment" and labels.get("app.kubernetes.io/component") in GRPC_NAMES:
            env = check_pingan_deployment(obj, template, configmaps)
            container = next(c for c in template["spec"]["containers"] if c["name"] == "pingan")
            key_secrets |= check_required_keys(obj, container, configmaps)
            for pair in filter(None, env.get("PINGAN_PEERS", "").split(",")):
                peer, url = pair.split("=", 1)
                match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", url)
                if not match:
                    continue  # external peer (the 12345 gateway)
                svc = services.get(match.group(1))
                if svc is None:
                    fail(f"{name_of(obj)}: peer {peer} -> {url}: no such Service")
                elif int(match.group(2)) not in [p["port"] for p in svc["spec"]["ports"]]:
                    fail(f"{name_of(obj)}: peer {peer} -> {url}: Service has no such port")
                elif svc["spec"]["selector"].get("app.kubernetes.io/component") != peer:
                    fail(f"{name_of(obj)}: peer {peer} -> {url} selects {svc['spec']['selector']}")
        for container in template["spec"]["containers"]:
            for var in container.get("env") or []:
                ref = (var.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    secret = secrets.get(ref["name"])
                    if secret is None:
                        existing_secret_refs.add(f"{ref['name']}:{ref['key']}")
                    elif ref["key"] not in (secret.get("stringData") or {}) | (secret.get("data") or {}):
                        fail(f"{name_of(obj)}: env {var['name']}: Secret {ref['name']} has no key {ref['key']}")
            for ref in container.get("envFrom") or []:
                cm = (ref.get("configMapRef") or {}).get("name")
                if cm and cm not in configmaps:
                    fail(f"{name_of(obj)}: envFrom ConfigMap {cm} is not rendered")
        for volume in template["spec"].get("volumes") or []:
            cm = (volume.get("configMap") or {}).get("name")
            if cm and cm not in configmaps:
                fail(f"{name_of(obj)}: volume ConfigMap {cm} is not rendered")

    if len(key_secrets) > 1:
        fail(f"the services take PINGAN_AUTH_SECRET / PINGAN_PII_KEY from different Secrets "
             f"{sorted(key_secrets)}: all six must share one auth secret and one PII key")
    for name in key_secrets:
        secret = secrets.get(name)
        if secret is None:
            continue  # secrets.existingSecret: listed below as expected keys
        values = (secret.get("stringData") or {}) | {
            k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        for key in REQUIRED_SECRET_ENV.values():
            if len(values.get(key) or "") < MIN_KEY_LENGTH:
                fail(f"Secret/{name}: {key} is shorter than {MIN_KEY_LENGTH} characters")
    for svc in services.values():
        selector = {"matchLabels": svc["spec"].get("selector") or {}}
        targets = [n for n, labels in pod_labels if selects(selector, labels)]
        if len(targets) != 1:
            fail(f"{name_of(svc)}: selects {targets or 'no workload'}")
    for kind in ("NetworkPolicy", "PodDisruptionBudget"):
        for obj in by_kind.get(kind, {}).values():
            selector = obj["spec"]["podSelector" if kind == "NetworkPolicy" else "selector"]
            if not any(selects(selector, labels) for _, labels in pod_labels):
                fail(f"{name_of(obj)}: selects no pod")
            for rule in obj["spec"].get("ingress") or []:
                for peer in rule.get("from") or []:
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        if not any(selects(peer["podSelector"], labels) for _, labels in pod_labels):
                            fail(f"{name_of(obj)}: ingress from a pod selector matching no pod of the release")
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        target = hpa["spec"]["scaleTargetRef"]
        deployment = by_kind.get("Deployment", {}).get(target["name"])
        if deployment is None:
            fail(f"{name_of(hpa)}: targets missing Deployment {target['name']}")
        elif "replicas" in deployment["spec"]:
            fail(f"{name_of(hpa)}: Deployment {target['name']} also sets replicas (would fight the HPA)")
        if hpa["spec"]["minReplicas"] > hpa["spec"]["maxReplicas"]:
            fail(f"{name_of(hpa)}: minReplicas > maxReplicas")
    for monitor in by_kind.get("ServiceMonitor", {}).values():
        selected = [s for s in services.values() if selects(monitor["spec"]["selector"], s["metadata"]["labels"])]
        if not selected:
            fail(f"{name_of(monitor)}: selects no Service")
        for endpoint in monitor["spec"]["endpoints"]:
            for svc in selected:
                if endpoint["port"] not in [p.get("name") for p in svc["spec"]["ports"]]:
                    fail(f"{name_of(monitor)}: Service {svc['metadata']['name']} has no port {endpoint['port']}")
    for cm in configmaps.values():
        for key, value in (cm.get("data") or {}).items():
            if key.endswith(".json"):
                try:
                    dashboard = json.loads(value)
                except json.JSONDecodeError as err:
                    fail(f"{name_of(cm)}: {key} is not JSON: {err}")
                    continue
                if not dashboard.get("uid") or not dashboard.get("panels"):
                    fail(f"{name_of(cm)}: {key} has no uid or no panels")
                for panel in dashboard.get("panels", []):
                    for target in panel.get("targets", []):
                        if not target.get("expr"):
                            fail(f"{name_of(cm)}: {key} panel {panel.get('title')} has an empty query")

    print(f"  {len(core)} built-in objects, {len(crds)} prometheus-operator objects, "
          f"{sum(len(g['rules']) for g in groups)} rules")
    for ref in sorted(existing_secret_refs):
        print(f"  expects existing Secret key {ref}")
    if failures:
        for message in failures:
            print(f"FAIL {message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
