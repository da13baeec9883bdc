#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The queries of leakwatch's Grafana dashboard and alert rules, checked.

  check-queries.py [--promtool P] [--metrics FILE] METRICS_TXT DASHBOARD_JSON [RULES_YAML...]

- The dashboard parses as JSON, its panels have unique ids and a place on
  the grid, and every $variable its queries use is defined.
- Every metric a query names is one leakwatch exports (METRICS_TXT, the
  list of the --watch contract), or, in the alert rules, one of cAdvisor's
  or kube-state-metrics' that they join with; every label a query matches
  or groups by is a label of the metrics it names.
- With promtool: every query parses (promtool check rules), and returns
  data (promtool test rules) from one series of each exported metric, with
  the Grafana variables set to "All".
- With --metrics FILE (the text of a live /metrics): every metric the
  queries name is there, a sample or a "# TYPE" line, of the listed type.

Exit status 0 when all hold, 1 with each failure on stderr.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

# The series the alert rules join leakwatch's with, and their labels.
FOREIGN = {
    "container_memory_working_set_bytes": ("gauge", {"namespace", "pod", "container", "id",
                                                     "image", "name"}),
    "kube_pod_container_resource_limits": ("gauge", {"namespace", "pod", "container", "node",
                                                     "resource", "unit"}),
}
# Labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"instance", "job"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "atan2"}
# Grafana's own variables, as the test sets them.
GRAFANA_VARS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}

failures = []


def fail(msg):
    failures.append(msg)


def read_metrics(path):
    """name -> (type, {label: [values] or None})"""
    metrics = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            name, mtype, labels = line[0], line[1], {}
            for spec in line[2:]:
                label, _, values = spec.partition("=")
                labels[label] = values.split("|") if values else None
            metrics[name] = (mtype, labels)
    return metrics


STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*$')
GROUPING = re.compile(r'\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)')
IDENT = re.compile(r'(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)')


def names_in(expr):
    """The metric names and the label names a PromQL expression uses."""
    labels = set()
    # label names of matchers: the identifier before an operator and a string
    for m in STRING.finditer(expr):
        before = MATCHER.search(expr[:m.start()])
        if before:
            labels.add(before.group(1))
    text = STRING.sub('""', expr)
    text = re.sub(r'\{[^}]*\}', ' ', text)
    for m in GROUPING.finditer(text):
        labels.update(l.strip() for l in m.group(2).split(",") if l.strip())
    text = GROUPING.sub(' ', text)
    text = re.sub(r'\[[^\]]*\]', ' ', text)
    text = re.sub(r'\$\{?\w+\}?', ' ', text)
    metrics = set()
    for m in IDENT.finditer(text):
        word = m.group(1)
        rest = text[m.end():]
        if word.lower() in KEYWORDS or re.match(r'\s*\(', rest):
            continue
        metrics.add(word)
    return metrics, labels


def check_expr(where, expr, known, allow_foreign):
    metrics, labels = names_in(expr)
    if not metrics:
        fail(f"{where}: names no metric: {expr}")
    allowed = set(TARGET_LABELS)
    for name in metrics:
        if name in known:
            allowed.update(known[name][1])
        elif allow_foreign and name in FOREIGN:
            allowed.update(FOREIGN[name][1])
        else:
            fail(f"{where}: {name} is no metric leakwatch exports (tools/k8s/metrics.txt)")
    for label in labels - allowed:
        fail(f"{where}: label {label} belongs to none of {', '.join(sorted(metrics))}")
    return metrics


def dashboard_queries(dash):
    """(where, expr) of every panel target and every query variable."""
    out = []
    ids = set()
    panels = list(dash.get("panels", []))
    for p in dash.get("panels", []):
        panels.extend(p.get("panels", []))
    for p in panels:
        where = f"panel {p.get('id')} \"{p.get('title')}\""
        if p.get("id") in ids:
            fail(f"{where}: id used twice")
        ids.add(p.get("id"))
        grid = p.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) or \
                grid.get("x", 0) + grid.get("w", 0) > 24:
            fail(f"{where}: no valid gridPos: {grid}")
        if p.get("type") == "row":
            continue
        if not p.get("targets"):
            fail(f"{where}: no query")
        for t in p.get("targets", []):
            if not t.get("expr"):
                fail(f"{where}: a target without expr")
                continue
            out.append((f"{where} {t.get('refId')}", t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r'\s*label_values\((.*),\s*([A-Za-z_]\w*)\s*\)\s*', q or "")
        if not m:
            fail(f"variable {v.get('name')}: not label_values(SELECTOR, LABEL): {q}")
            continue
        # the label asked for must be one of the selector's
        out.append((f"variable {v.get('name')}",
                    f'{m.group(1)} and on ({m.group(2)}) {m.group(1)}'))
    return out


def substitute(expr, dash_vars):
    def value(m):
        name = m.group(1) or m.group(2)
        if name in GRAFANA_VARS:
            return GRAFANA_VARS[name]
        if name in dash_vars:
            return ".*"
        fail(f"undefined variable ${name} in {expr}")
        return ".*"
    return re.sub(r'\$\{(\w+)(?::\w+)?\}|\$(\w+)', value, expr)


def sample_series(known):
    """One series per label value combination of each exported metric."""
    series = []
    defaults = {"pid": "4242", "comm": "api", "namespace": "shop", "pod": "web-0",
                "container": "app", "cgroup": "/kubepods/burstable/pod1/abc",
                "source": "ringbuf", "map": "allocs", "version": "0.1.0"}
    for name, (mtype, labels) in sorted(known.items()):
        combos = [{"instance": "node-a:9464", "job": "leakwatch"}]
        for label, values in labels.items():
            combos = [dict(c, **{label: v}) for c in combos
                      for v in (values or [defaults.get(label, "x")])]
        if mtype == "counter":
            values = "0+1x120"
        elif name.endswith(("_suspect", "_traced", "_info")):
            values = "1x120"
        elif name.endswith("_ratio"):
            values = "0.5x120"
        else:
            values = "1048576+1024x120"
        for c in combos:
            text = ",".join(f'{k}="{v}"' for k, v in sorted(c.items()))
            series.append({"series": f"{name}{{{text}}}", "values": values})
    return series


def run_promtool(promtool, queries, known):
    with tempfile.TemporaryDirectory(prefix="lw-queries.") as tmp:
        rules = [{"record": f"query:q{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]
        with open(os.path.join(tmp, "queries.yaml"), "w") as f:
            yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}, f)
        r = subprocess.run([promtool, "check", "rules", "queries.yaml"], cwd=tmp,
                           capture_output=True, text=True)
        if r.returncode:
            fail(f"promtool check rules:\n{r.stdout}{r.stderr}")
            return
        tests = [{"interval": "1m", "input_series": sample_series(known),
                  "promql_expr_test": [
                      {"expr": f"count(query:q{i}) > bool 0", "eval_time": "100m",
                       "exp_samples": [{"labels": "{}", "value": 1}]}
                      for i in range(len(queries))]}]
        with open(os.path.join(tmp, "test.yaml"), "w") as f:
            yaml.safe_dump({"rule_files": ["queries.yaml"], "evaluation_interval": "1m",
                            "tests": tests}, f)
        r = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp,
                           capture_output=True, text=True)
        if r.returncode:
            # name the queries that returned nothing
            empty = sorted({int(n) for n in re.findall(r'count\(query:q(\d+)\)', r.stdout + r.stderr)})
            for i in empty:
                fail(f"{queries[i][0]}: no data from a series of each metric: {queries[i][1]}")
            if not empty:
                fail(f"promtool test rules:\n{r.stdout}{r.stderr}")


def check_live(path, used, known):
    with open(path) as f:
        text = f.read()
    types, present = {}, set()
    for line in text.splitlines():
        m = re.match(r'#\s*TYPE\s+(\S+)\s+(\S+)', line)
        if m:
            types[m.group(1)] = m.group(2)
            present.add(m.group(1))
        elif line and not line.startswith("#"):
            present.add(re.match(r'[^{\s]*', line).group(0))
    for name in sorted(used):
        if name in FOREIGN:
            continue
        if name not in present:
            fail(f"{name}: not in the daemon's /metrics")
        elif name in types and types[name] != known[name][0]:
            fail(f"{name}: a {types[name]} in /metrics, a {known[name][0]} in the list")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--promtool", help="promtool, to parse and evaluate the queries")
    ap.add_argument("--metrics", help="a live /metrics of the daemon")
    ap.add_argument("metrics_txt")
    ap.add_argument("dashboard")
    ap.add_argument("rules", nargs="*")
    args = ap.parse_args()

    known = read_metrics(args.metrics_txt)
    try:
        with open(args.dashboard) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{args.dashboard}: {e}", file=sys.stderr)
        return 1
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in dash:
            fail(f"{args.dashboard}: no {key}")
    dash_vars = {v.get("name") for v in dash.get("templating", {}).get("list", [])}
    queries = [(w, substitute(e, dash_vars)) for w, e in dashboard_queries(dash)]
    used = set()
    for where, expr in queries:
        used |= check_expr(where, expr, known, allow_foreign=False)
    rule_queries = []
    for path in args.rules:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                where = f"{os.path.basename(path)}: {rule.get('alert') or rule.get('record')}"
                used |= check_expr(where, rule["expr"], known, allow_foreign=True)
                rule_queries.append((where, rule["expr"]))
    if args.promtool:
        run_promtool(args.promtool, queries, known)
    if args.metrics:
        check_live(args.metrics, used, known)
    for msg in failures:
        print(f"check-queries: {msg}", file=sys.stderr)
    if not failures:
        print(f"check-queries: {len(queries)} dashboard queries, {len(rule_queries)} rules, "
              f"{len(used)} metrics: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
