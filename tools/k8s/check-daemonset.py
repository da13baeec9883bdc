#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""tools/k8s/daemonset.yaml checked without a cluster.

  check-daemonset.py DAEMONSET_YAML [LEAKWATCH]

- It parses as YAML: a Namespace, the DaemonSet and a NetworkPolicy.
- The DaemonSet runs --watch; the port of --listen, the containerPort, the
  prometheus.io/port annotation, the probes' port and the NetworkPolicy's
  port are one port; the probes ask /healthz, the scrape /metrics.
- The NetworkPolicy selects the DaemonSet's pods.
- Every added capability has a comment above it (its reason).
- With LEAKWATCH: every option of the args is one `LEAKWATCH --watch --help`
  lists.

Exit status 0 when all hold, 1 with each failure on stderr.
"""
import re
import subprocess
import sys

import yaml


def main():
    path = sys.argv[1]
    text = open(path).read()
    docs = {d["kind"]: d for d in yaml.safe_load_all(text) if d}
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    check(set(docs) == {"Namespace", "DaemonSet", "NetworkPolicy"},
          f"kinds: {sorted(docs)}")
    pod = docs["DaemonSet"]["spec"]["template"]
    c = pod["spec"]["containers"][0]
    args = c["args"]
    check("--watch" in args, "the args have no --watch")
    listen = [a.split("=", 1)[1] for a in args if a.startswith("--listen=")]
    check(len(listen) == 1, "no --listen=ADDR:PORT")
    port = int(listen[0].rsplit(":", 1)[1]) if listen else None
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("metrics") == port, f"containerPort {ports} is not --listen's {port}")
    ann = pod["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true", "no prometheus.io/scrape: \"true\"")
    check(ann.get("prometheus.io/port") == str(port), "prometheus.io/port is not --listen's")
    check(ann.get("prometheus.io/path") == "/metrics", "prometheus.io/path is not /metrics")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == "/healthz" and get.get("port") in ("metrics", port),
              f"{probe} does not ask /healthz on the metrics port")
    check("memory" in c["resources"]["requests"] and "memory" in c["resources"]["limits"],
          "no memory request and limit")
    np = docs["NetworkPolicy"]["spec"]
    labels = pod["metadata"]["labels"]
    check(all(labels.get(k) == v for k, v in np["podSelector"]["matchLabels"].items()),
          "the NetworkPolicy does not select the DaemonSet's pods")
    check(np["policyTypes"] == ["Ingress"] and len(np["ingress"]) == 1
          and [p["port"] for p in np["ingress"][0]["ports"]] == [port]
          and np["ingress"][0].get("from"),
          "the NetworkPolicy admits more than some peers on --listen's port")
    caps = c["securityContext"]["capabilities"]
    check(caps["drop"] == ["ALL"], "capabilities not dropped first")
    lines = text.splitlines()
    for cap in caps["add"]:
        at = [i for i, l in enumerate(lines) if l.strip() == f"- {cap}"]
        check(len(at) == 1 and lines[at[0] - 1].strip().startswith("#"),
              f"capability {cap} has no reason above it")
    if len(sys.argv) > 2:
        help_text = subprocess.run([sys.argv[2], "--watch", "--help"], capture_output=True,
                                   text=True, check=True).stdout
        known = set(re.findall(r"--[a-z-]+", help_text))
        for a in args:
            check(a.split("=", 1)[0] in known, f"{a}: not an option of leakwatch --watch")
    for f in failures:
        print(f"{path}: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
