"""Parses a Prometheus text exposition from stdin with prometheus_client's parser, checks what
that parser lets through but Prometheus' conventions do not, and prints the families as JSON.
Exit 1 with one line per problem on stderr when the text is not a clean exposition."""

import json
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def problems_of(text, families):
    # The parser strips a counter's _total from its family name: look at the TYPE lines.
    for line in text.splitlines():
        parts = line.split(" ")
        if parts[:2] == ["#", "TYPE"] and parts[3:] == ["counter"] and not parts[2].endswith("_total"):
            yield f"{parts[2]}: a counter's name must end in _total"
    seen = set()
    for f in families:
        if f.name in seen:
            yield f"{f.name}: declared twice (its samples are not together)"
        seen.add(f.name)
        if not NAME.match(f.name):
            yield f"{f.name}: not a valid metric name"
        if f.type == "unknown":
            yield f"{f.name}: no TYPE line before its samples"
        if not f.documentation:
            yield f"{f.name}: no HELP text"
        if f.type == "histogram":
            yield from histogram_problems(f)


def histogram_problems(f):
    series = {}
    for s in f.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if s.name == f.name + "_bucket":
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name == f.name + "_sum":
            series[key]["sum"] = s.value
        elif s.name == f.name + "_count":
            series[key]["count"] = s.value
        else:
            yield f"{f.name}: unexpected sample {s.name}"
    for key, h in series.items():
        bounds = [le for le, _ in h["buckets"]]
        counts = [n for _, n in h["buckets"]]
        if bounds != sorted(bounds) or not bounds or bounds[-1] != math.inf:
            yield f"{f.name}{key}: buckets must rise and end with le=+Inf"
        if counts != sorted(counts):
            yield f"{f.name}{key}: bucket counts must be cumulative"
        if h["sum"] is None or h["count"] is None:
            yield f"{f.name}{key}: _sum and _count are required"
        elif counts and counts[-1] != h["count"]:
            yield f"{f.name}{key}: the +Inf bucket must equal _count"


def main():
    text = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as e:
        print(f"not parseable: {e}", file=sys.stderr)
        sys.exit(2)
    problems = list(problems_of(text, families))
    for p in problems:
        print(p, file=sys.stderr)
    print(json.dumps([
        {
            "name": f.name,
            "type": f.type,
            "help": f.documentation,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples
            ],
        }
        for f in families
    ]))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
