#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""check-queries.py must fail each kind of broken dashboard, rule file and
/metrics: the dashboard's test is only as good as these.

  test_check_queries.py PROMTOOL     (make test-rules)
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-queries.py")
METRICS = os.path.join(HERE, "metrics.txt")
DASHBOARD = os.path.join(HERE, "dashboard.json")
ALERTS = os.path.join(HERE, "alerts.yaml")
PROMTOOL = "promtool"


def first_target(dash):
    for p in dash["panels"]:
        if p.get("targets"):
            return p["targets"][0]
    raise AssertionError("no target")


class CheckQueries(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="lw-check-queries.")
        with open(DASHBOARD) as f:
            self.dash = json.load(f)

    def tearDown(self):
        self.tmp.cleanup()

    def run_check(self, dash=None, text=None, rules=(), metrics_file=None):
        path = os.path.join(self.tmp.name, "dashboard.json")
        with open(path, "w") as f:
            f.write(text if text is not None else json.dumps(dash or self.dash))
        cmd = [sys.executable, CHECK, "--promtool", PROMTOOL]
        if metrics_file:
            cmd += ["--metrics", metrics_file]
        r = subprocess.run(cmd + [METRICS, path] + list(rules), capture_output=True, text=True)
        return r.returncode, r.stderr

    def expect_failure(self, needle, **kw):
        rc, err = self.run_check(**kw)
        self.assertEqual(rc, 1, err)
        self.assertIn(needle, err)

    def test_as_committed(self):
        rc, err = self.run_check(rules=[ALERTS])
        self.assertEqual(rc, 0, err)

    def test_not_json(self):
        rc, err = self.run_check(text='{"panels": [')
        self.assertEqual(rc, 1)
        self.assertIn("Expecting", err)

    def test_unknown_metric(self):
        first_target(self.dash)["expr"] = 'sum(leakwatch_suspect{instance=~"$node"})'
        self.expect_failure("leakwatch_suspect is no metric leakwatch exports")

    def test_foreign_metric_only_in_rules(self):
        first_target(self.dash)["expr"] = "container_memory_working_set_bytes"
        self.expect_failure("container_memory_working_set_bytes is no metric")

    def test_unknown_label(self):
        first_target(self.dash)["expr"] = 'sum by (node) (leakwatch_suspects{instance=~"$node"})'
        self.expect_failure("label node belongs to none of leakwatch_suspects")

    def test_unknown_label_in_matcher(self):
        first_target(self.dash)["expr"] = 'sum(leakwatch_suspects{namespace="shop"})'
        self.expect_failure("label namespace belongs to none of leakwatch_suspects")

    def test_no_data(self):
        first_target(self.dash)["expr"] = 'sum(leakwatch_process_memory_bytes{part="leaked"})'
        self.expect_failure("no data from a series of each metric")

    def test_bad_promql(self):
        first_target(self.dash)["expr"] = 'sum(leakwatch_suspects{instance=~"$node"}'
        self.expect_failure("promtool check rules")

    def test_undefined_variable(self):
        first_target(self.dash)["expr"] = 'sum(leakwatch_suspects{instance=~"$cluster"})'
        self.expect_failure("undefined variable $cluster")

    def test_duplicate_panel_id(self):
        panels = [p for p in self.dash["panels"] if p.get("targets")]
        panels[1]["id"] = panels[0]["id"]
        self.expect_failure("id used twice")

    def test_variable_of_unknown_label(self):
        for v in self.dash["templating"]["list"]:
            if v["name"] == "pod":
                v["query"]["query"] = "label_values(leakwatch_process_anon_bytes, podname)"
        self.expect_failure("label podname belongs to none")

    def test_live_metrics(self):
        live = os.path.join(self.tmp.name, "metrics")
        with open(live, "w") as f:
            f.write("# TYPE leakwatch_suspects gauge\nleakwatch_suspects 0\n"
                    "# TYPE leakwatch_oom_kills_total gauge\n")
        rc, err = self.run_check(metrics_file=live)
        self.assertEqual(rc, 1)
        self.assertIn("leakwatch_processes_watched: not in the daemon's /metrics", err)
        self.assertIn("leakwatch_oom_kills_total: a gauge in /metrics, a counter", err)
        self.assertNotIn("leakwatch_suspects:", err)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        PROMTOOL = sys.argv.pop(1)
    unittest.main(verbosity=1)
