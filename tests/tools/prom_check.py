#!/usr/bin/env python3
"""prom_check: strict checks of a Prometheus text exposition (format 0.0.4),
and reading one sample's value, for the integration tests.

  prom_check.py check FILE          exit 1 naming every problem
  prom_check.py get FILE NAME [label=value ...]
                                    print the value of the one sample with
                                    that name and those labels (exit 1 if
                                    there is none, or more than one)

`check` reads the text line by line as the format's specification and
Prometheus's own parser do: the grammar of HELP, TYPE and sample lines
(label escapes \\\\ \\" \\n only, numbers as Go's ParseFloat reads them),
HELP and TYPE once per family and before its samples, a family's samples
together, each sample named after its family, no series twice, counters
ending in _total and never negative, histograms with ascending le ending
at +Inf, cumulative counts, +Inf equal to _count, and a _sum. Then the
Python client's parser (python3-prometheus-client) must read the same
text into the same families. Debian's python3 has that package."""
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(text, pos, problems, lineno):
    """text[pos] is just after '{'; returns (labels, position after '}')."""
    labels = {}
    while True:
        if text.startswith("}", pos):
            return labels, pos + 1
        m = LABEL_NAME.match(text, pos)
        if not m:
            problems.append(f"line {lineno}: bad label name at: {text[pos:pos + 30]!r}")
            return None, None
        name = m.group(0)
        pos = m.end()
        if not text.startswith('="', pos):
            problems.append(f"line {lineno}: label {name} is not followed by =\"")
            return None, None
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                problems.append(f"line {lineno}: label {name}'s value is not closed")
                return None, None
            c = text[pos]
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    problems.append(f"line {lineno}: label {name}: escape \\{nxt} is not \\\\, \\\" or \\n")
                    return None, None
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == "\n":
                problems.append(f"line {lineno}: label {name}: a raw newline in a value")
                return None, None
            else:
                value.append(c)
                pos += 1
        if name in labels:
            problems.append(f"line {lineno}: label {name} twice")
        labels[name] = "".join(value)
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("}", pos):
            problems.append(f"line {lineno}: expected , or }} after label {name}")
            return None, None


def family_of(sample, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix) and types.get(sample[: -len(suffix)]) in ("histogram", "summary"):
            return sample[: -len(suffix)]
    return sample


def check(text):
    problems = []
    if not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    helps, types, done = {}, {}, set()
    current = None
    series = set()
    hists = {}  # (family, labels without le) -> {"buckets": [(le, v)], "sum":, "count":}
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    problems.append(f"line {lineno}: bad metric name {name!r}")
                if name != current and name in done:
                    problems.append(f"line {lineno}: {parts[1]} of {name} after its family ended")
                if current != name:
                    if current:
                        done.add(current)
                    current = name
                if parts[1] == "HELP":
                    if name in helps:
                        problems.append(f"line {lineno}: second HELP for {name}")
                    rest = parts[3] if len(parts) > 3 else ""
                    if re.search(r"\\[^\\n]|\\$", rest.replace("\\\\", "")):
                        problems.append(f"line {lineno}: HELP of {name} has an escape other than \\\\ or \\n")
                    helps[name] = rest
                else:
                    if name in types:
                        problems.append(f"line {lineno}: second TYPE for {name}")
                    if len(parts) != 4 or parts[3] not in TYPES:
                        problems.append(f"line {lineno}: bad TYPE line {line!r}")
                    else:
                        types[name] = parts[3]
            continue
        if line == "":
            continue
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
        if not m:
            problems.append(f"line {lineno}: not a sample: {line[:60]!r}")
            continue
        name, pos, labels = m.group(0), m.end(), {}
        if line.startswith("{", pos):
            labels, pos = parse_labels(line, pos + 1, problems, lineno)
            if labels is None:
                continue
        rest = line[pos:]
        fields = rest.split(" ")
        if not rest.startswith(" ") or len(fields) not in (2, 3) or not FLOAT.match(fields[1]):
            problems.append(f"line {lineno}: bad value part {rest!r}")
            continue
        value = float(fields[1].replace("Inf", "inf"))
        fam = family_of(name, types)
        if fam not in types:
            problems.append(f"line {lineno}: {name} has no TYPE line before it")
        if fam not in helps:
            problems.append(f"line {lineno}: {name} has no HELP line")
        if fam != current:
            problems.append(f"line {lineno}: {name} is outside its family's block (current: {current})")
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            problems.append(f"line {lineno}: the series {name}{labels} appears twice")
        series.add(key)
        typ = types.get(fam)
        if typ == "counter":
            if not name.endswith("_total"):
                problems.append(f"line {lineno}: counter {name} does not end in _total")
            if not value >= 0:
                problems.append(f"line {lineno}: counter {name} is {value}")
        if typ == "histogram":
            base = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            h = hists.setdefault((fam, base), {"buckets": [], "sum": None, "count": None})
            if name.endswith("_bucket"):
                if "le" not in labels or not FLOAT.match(labels["le"]):
                    problems.append(f"line {lineno}: bucket without a numeric le")
                else:
                    h["buckets"].append((float(labels["le"].replace("Inf", "inf")), value))
            elif name.endswith("_sum"):
                h["sum"] = value
            else:
                h["count"] = value
    for (fam, base), h in hists.items():
        les = [le for le, _ in h["buckets"]]
        counts = [v for _, v in h["buckets"]]
        where = f"histogram {fam}{dict(base)}"
        if not les or les[-1] != math.inf:
            problems.append(f"{where}: no +Inf bucket at the end")
        if les != sorted(les) or len(set(les)) != len(les):
            problems.append(f"{where}: le not ascending: {les}")
        if counts != sorted(counts):
            problems.append(f"{where}: buckets not cumulative: {counts}")
        if h["count"] is None or h["sum"] is None:
            problems.append(f"{where}: _count or _sum missing")
        elif counts and counts[-1] != h["count"]:
            problems.append(f"{where}: +Inf bucket {counts[-1]} != _count {h['count']}")
    # The Python client's parser must see the same families, none untyped.
    try:
        parsed = list(text_string_to_metric_families(text))
    except Exception as e:  # noqa: BLE001 - any parse failure is a finding
        problems.append(f"prometheus_client cannot parse the text: {e}")
        parsed = []
    for fam in parsed:
        if fam.type in ("untyped", "unknown"):
            problems.append(f"prometheus_client read {fam.name} as an untyped stray sample")
    return problems


def get(text, name, want):
    found = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in want.items()):
                found.append(s)
    if len(found) != 1:
        sys.stderr.write(f"{len(found)} samples of {name} with {want}\n")
        sys.exit(1)
    v = found[0].value
    print(int(v) if math.isfinite(v) and v == int(v) else v)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("check", "get"):
        sys.exit(__doc__)
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    if sys.argv[1] == "check":
        problems = check(text)
        for p in problems:
            print(p)
        sys.exit(1 if problems else 0)
    want = dict(a.split("=", 1) for a in sys.argv[4:])
    get(text, sys.argv[3], want)


if __name__ == "__main__":
    main()
