#!/usr/bin/env python3
"""Checks that a `helm template` rendering of the Pingan chart wires every service as the binary
requires: each peer a service must reach (the destinations of the events it sends and the services
it calls, from `pingan wiring --json`) is in its PINGAN_PEERS, at the in-cluster URL
http(s)://<fullname>-<peer>:<grpc port> when the release runs that peer, at some URL otherwise.

Usage: check_wiring.py RENDERED.yaml WIRING.json FULLNAME GRPC_PORT

Exits non-zero on any failure, and when the rendering holds no Pingan service at all (a check
that checked nothing must not pass).
"""

import json
import sys

import yaml


def main():
    rendered, wiring_file, fullname, port = sys.argv[1:5]
    wiring = json.load(open(wiring_file, encoding="utf-8"))["services"]
    docs = [d for d in yaml.safe_load_all(open(rendered, encoding="utf-8")) if d]
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "ConfigMap"}
    deployments = {}
    for d in docs:
        component = d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        if d["kind"] == "Deployment" and component in wiring:
            deployments[component] = d

    failures = []
    if not deployments:
        failures.append("no Pingan service Deployment in the rendering: nothing was checked")
    for service, deployment in sorted(deployments.items()):
        env = {}
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for source in container.get("envFrom") or []:
                ref = source.get("configMapRef")
                if ref:
                    env.update(configmaps.get(ref["name"], {}))
            for var in container.get("env") or []:
                if "value" in var:
                    env[var["name"]] = var["value"]
        if "PINGAN_PEERS" not in env:
            failures.append(f"{service}: PINGAN_PEERS is not set")
            continue
        peers = {}
        for pair in filter(None, env["PINGAN_PEERS"].split(",")):
            name, _, url = pair.partition("=")
            peers[name.strip()] = url.strip()
        required = wiring[service]["required_peers"]
        for peer in required:
            url = peers.get(peer)
            # With TLS (PINGAN_TLS_CERT set) peers are called over https.
            scheme = "https" if env.get("PINGAN_TLS_CERT") else "http"
            in_cluster = f"{scheme}://{fullname}-{peer}:{port}"
            if not url:
                failures.append(f"{service}: required peer {peer} is missing from PINGAN_PEERS "
                                f"({env['PINGAN_PEERS']!r})")
            elif peer in deployments and url != in_cluster:
                failures.append(f"{service}: peer {peer} -> {url}, expected the in-cluster {in_cluster}")
        print(f"  {service} requires: {', '.join(required) or '-'}")
    for message in failures:
        print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
