"""The shipped Grafana dashboard (docker/grafana/dashboards/iriswire.json) stays honest.

- Its JSON parses, panel ids are unique and no two panels overlap.
- Every metric its queries name is in the table of docs/metrics.md (which
  tests/metrics.rs checks against the live ``/metrics``), with the labels the
  table gives it, so the dashboard cannot drift from the real metrics.
- Every query is valid PromQL: ``promtool check rules`` accepts them all as
  recording rules, once Grafana's variables are replaced by plain values.

Standard library only; the PromQL check needs ``promtool`` on PATH
(scripts/test-deps.sh installs Debian's prometheus package) and is skipped
without it.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(ROOT, "docker", "grafana", "dashboards", "iriswire.json")
METRICS_DOC = os.path.join(ROOT, "docs", "metrics.md")

GRID_COLUMNS = 24
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"instance", "job"}
# Grafana variables and what stands in for them when promtool parses a query.
SUBSTITUTIONS = [
    ("$__rate_interval", "5m"),
    ("${__rate_interval}", "5m"),
    ("${instance}", ".*"),
    ("$instance", ".*"),
]

METRIC_NAME = re.compile(r"(?<![A-Za-z0-9_:])((?:iriswire|process)_[A-Za-z0-9_:]*)")
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
SELECTOR = re.compile(r"(?<![A-Za-z0-9_:])((?:iriswire|process)_[A-Za-z0-9_:]*)\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
RATE_OF = re.compile(r"\b(?:rate|irate|increase)\s*\(\s*([A-Za-z_:][A-Za-z0-9_:]*)")
TABLE_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|")


def load_dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def documented_metrics():
    """{name: (type, {label names})} from the table in docs/metrics.md."""
    metrics = {}
    with open(METRICS_DOC, encoding="utf-8") as f:
        for line in f:
            m = TABLE_ROW.match(line.strip())
            if m:
                name, kind, labels = m.groups()
                metrics[name] = (kind, set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", labels)))
    assert metrics, f"no metric table found in {METRICS_DOC}"
    return metrics


def all_panels(panels):
    """Every panel, including those inside collapsed rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels") or [])


def exprs(node, where="dashboard"):
    """(where, expr) for every PromQL query anywhere in the dashboard: panel targets, annotations."""
    if isinstance(node, dict):
        label = where
        if "id" in node and "gridPos" in node:
            label = f"panel {node['id']} ({node.get('title', '')!r})"
        elif node.get("name") and "expr" in node:
            label = f"annotation {node['name']!r}"
        if isinstance(node.get("expr"), str) and node["expr"].strip():
            ref = node.get("refId")
            yield (f"{label} {ref}" if ref else label), node["expr"]
        for key, value in node.items():
            if key != "expr":
                yield from exprs(value, label)
    elif isinstance(node, list):
        for item in node:
            yield from exprs(item, where)


def variable_queries(dashboard):
    """The PromQL-ish queries of query variables (label_values(...) and the like)."""
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        for text in (query, var.get("definition")):
            if isinstance(text, str) and text:
                yield f"variable {var.get('name')!r}", text


def without_strings(expr):
    return STRING_LITERAL.sub('""', expr)


def overlaps(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def check_layout(panels, where):
    problems = []
    for p in panels:
        g = p.get("gridPos")
        if not g or not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")):
            problems.append(f"{where}: panel {p.get('id')} has no integer gridPos x/y/w/h")
            continue
        if g["x"] < 0 or g["y"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > GRID_COLUMNS:
            problems.append(f"{where}: panel {p.get('id')} gridPos {g} is outside the 24-column grid")
    placed = [p for p in panels if p.get("gridPos")]
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            if overlaps(a["gridPos"], b["gridPos"]):
                problems.append(
                    f"{where}: panels {a.get('id')} ({a.get('title')!r}) and {b.get('id')} "
                    f"({b.get('title')!r}) overlap: {a['gridPos']} / {b['gridPos']}")
    return problems


def test_dashboard_parses_with_unique_ids_and_no_overlap():
    dashboard = load_dashboard()
    assert dashboard.get("uid") and dashboard.get("title")
    assert dashboard.get("schemaVersion", 0) >= 36, "not a Grafana 10/11 dashboard schema"

    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    assert variables.get("datasource", {}).get("type") == "datasource"
    assert variables["datasource"].get("query") == "prometheus"
    assert "instance" in variables, "no instance variable"
    assert any("label_values(iriswire_build_info, instance)" in q
               for _, q in variable_queries({"templating": {"list": [variables["instance"]]}}))

    panels = list(all_panels(dashboard["panels"]))
    ids = [p.get("id") for p in panels]
    assert all(isinstance(i, int) for i in ids), f"panels without an integer id: {ids}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate panel ids: {duplicates}"

    # Top-level panels share the grid; a collapsed row's panels are laid out
    # among themselves when it opens.
    problems = check_layout(dashboard["panels"], "dashboard")
    for row in dashboard["panels"]:
        if row.get("type") == "row" and row.get("panels"):
            problems += check_layout(row["panels"], f"row {row.get('title')!r}")
    assert not problems, "\n".join(problems)

    for p in panels:
        if p.get("type") == "row":
            continue
        where = f"panel {p['id']} ({p.get('title')!r})"
        assert p.get("datasource", {}).get("uid") == "${datasource}", f"{where}: not on ${{datasource}}"
        targets = p.get("targets") or []
        assert targets and all(t.get("expr") for t in targets), f"{where}: a target without expr"
        refs = [t.get("refId") for t in targets]
        assert len(set(refs)) == len(refs), f"{where}: duplicate refIds {refs}"
        for t in targets:
            assert t.get("datasource", {}).get("uid") == "${datasource}", f"{where}: target not on ${{datasource}}"
        assert p.get("fieldConfig", {}).get("defaults", {}).get("unit"), f"{where}: no unit"


def referenced_metrics(dashboard):
    """{metric name as documented: [where it is used]} for every query of the dashboard."""
    used = {}
    for where, expr in list(exprs(dashboard)) + list(variable_queries(dashboard)):
        for name in METRIC_NAME.findall(without_strings(expr)):
            used.setdefault(name, []).append(where)
    return used


def test_every_metric_in_the_dashboard_is_documented():
    dashboard = load_dashboard()
    documented = documented_metrics()
    missing = {}
    misused = []
    for name, wheres in sorted(referenced_metrics(dashboard).items()):
        base = name
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and (
                    documented.get(name[: -len(suffix)], ("",))[0] == "histogram" or name not in documented):
                base = name[: -len(suffix)]
                break
        if base not in documented:
            missing.setdefault(base, []).extend(wheres)
            continue
        kind = documented[base][0]
        if base != name and kind != "histogram":
            misused.append(f"{name}: {base} is a {kind}, not a histogram ({wheres[0]})")
        if base == name and kind == "histogram":
            misused.append(f"{name} is a histogram: query {name}_bucket/_count/_sum ({wheres[0]})")
    for where, expr in exprs(dashboard):
        for name in RATE_OF.findall(without_strings(expr)):
            if documented.get(name, ("",))[0] == "gauge":
                misused.append(f"{where}: rate/increase of the gauge {name}")

    if missing:
        print("metrics used by the dashboard but not in docs/metrics.md:")
        for name in sorted(missing):
            print(f"  {name}")
    report = ""
    if missing:
        report += "metrics used by the dashboard but not in the table of docs/metrics.md:\n" + "".join(
            f"  {name}  (used in {', '.join(sorted(set(w)))})\n" for name, w in sorted(missing.items()))
    if misused:
        report += "metrics used against their documented type:\n" + "".join(f"  {m}\n" for m in misused)
    assert not report, report


def test_selector_labels_are_documented():
    """Label matchers on a documented metric use labels the table gives it."""
    documented = documented_metrics()
    problems = []
    for where, expr in exprs(load_dashboard()):
        for name, matchers in SELECTOR.findall(without_strings(expr)):
            base = name
            for suffix in HISTOGRAM_SUFFIXES:
                if name.endswith(suffix) and name[: -len(suffix)] in documented:
                    base = name[: -len(suffix)]
            if base not in documented:
                continue  # reported by test_every_metric_in_the_dashboard_is_documented
            allowed = documented[base][1] | TARGET_LABELS | ({"le"} if base != name else set())
            for label in MATCHER_LABEL.findall(matchers):
                if label not in allowed:
                    problems.append(f"{where}: {name} has no label {label!r} in docs/metrics.md")
    assert not problems, "\n".join(problems)


def promql(expr):
    for variable, value in SUBSTITUTIONS:
        expr = expr.replace(variable, value)
    return expr


def test_every_query_is_valid_promql():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH (scripts/test-deps.sh installs Debian's prometheus package)")
    queries = list(exprs(load_dashboard()))
    assert queries
    lines = ["groups:", "  - name: iriswire_dashboard", "    rules:"]
    names = {}
    for n, (where, expr) in enumerate(queries):
        text = promql(expr)
        assert "$" not in text, f"{where}: a Grafana variable promtool cannot stand in for: {text}"
        record = f"iriswire_dashboard:query_{n:03d}"
        names[record] = where
        # A JSON string is a valid YAML double-quoted scalar.
        lines += [f"      - record: {record}", f"        expr: {json.dumps(text)}"]
    with tempfile.TemporaryDirectory(prefix="iriswire-dashboard-") as tmp:
        path = os.path.join(tmp, "dashboard_rules.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        out = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True, timeout=60)
    report = out.stdout + out.stderr
    for record, where in names.items():
        report = report.replace(record, f"{record} [{where}]")
    assert out.returncode == 0, f"promtool check rules rejected dashboard queries:\n{report}"
    assert f"{len(queries)} rules found" in out.stdout, report
