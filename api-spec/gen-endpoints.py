#!/usr/bin/env python3
"""Generate api-spec/endpoints.tsv from the Docker Engine API spec.

One line per operation of the spec: METHOD<TAB>path-template<TAB>status<TAB>note,
sorted by path, then method. See api-spec/README.md for the meaning of the
columns.

The status and note of an operation already listed in endpoints.tsv are kept,
so the file can be regenerated after a spec update without losing the hand
edits: operations new to the spec are added as `refused`, operations gone from
the spec are dropped (and named on stderr). Without an endpoints.tsv the
initial table below is used.

Usage:
    python3 api-spec/gen-endpoints.py            # (re)write api-spec/endpoints.tsv
    python3 api-spec/gen-endpoints.py --check    # exit 1 if the file is out of date
    python3 api-spec/gen-endpoints.py --spec other.yaml --out other.tsv

Needs PyYAML (`pip install pyyaml` or Debian's python3-yaml).
"""

import argparse
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
STATUSES = ("served", "partial", "refused")

DEFAULT_STATUS = "refused"
DEFAULT_NOTE = "not yet implemented (404 page not found)"
NO_NOTE = "-"

# Used only when there is no endpoints.tsv yet.
INITIALLY_SERVED = {
    ("GET", "/_ping"),
    ("HEAD", "/_ping"),
    ("GET", "/version"),
    ("GET", "/info"),
    ("GET", "/images/json"),
    ("GET", "/images/{name}/json"),
    ("POST", "/images/{name}/tag"),
    ("DELETE", "/images/{name}"),
    ("GET", "/images/{name}/get"),
    ("GET", "/images/get"),
    ("POST", "/images/load"),
}


def spec_operations(spec_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    if spec.get("swagger") != "2.0" or not isinstance(spec.get("paths"), dict):
        sys.exit(f"{spec_path}: not a Swagger 2.0 document with paths")
    ops = []
    for path, item in spec["paths"].items():
        for method in item:
            if method in METHODS:
                ops.append((method.upper(), path))
    ops.sort(key=lambda op: (op[1], op[0]))
    return ops


def read_existing(tsv_path):
    rows = {}
    with open(tsv_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) != 4:
                sys.exit(f"{tsv_path}:{lineno}: expected 4 tab-separated fields, got {len(fields)}")
            method, path, status, note = fields
            if status not in STATUSES:
                sys.exit(f"{tsv_path}:{lineno}: status {status!r} is not one of {', '.join(STATUSES)}")
            if (method, path) in rows:
                sys.exit(f"{tsv_path}:{lineno}: duplicate line for {method} {path}")
            rows[(method, path)] = (status, note)
    return rows


def render(ops, existing):
    lines = []
    for op in ops:
        if existing is not None:
            status, note = existing.get(op, (DEFAULT_STATUS, DEFAULT_NOTE))
        elif op in INITIALLY_SERVED:
            status, note = "served", NO_NOTE
        else:
            status, note = DEFAULT_STATUS, DEFAULT_NOTE
        lines.append("\t".join((op[0], op[1], status, note)) + "\n")
    return "".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=os.path.join(HERE, "v1.53.yaml"))
    parser.add_argument("--out", default=os.path.join(HERE, "endpoints.tsv"))
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the file would change")
    args = parser.parse_args()

    ops = spec_operations(args.spec)
    existing = read_existing(args.out) if os.path.exists(args.out) else None
    if existing is not None:
        for method, path in sorted(set(existing) - set(ops), key=lambda op: (op[1], op[0])):
            print(f"dropping {method} {path}: not in {args.spec}", file=sys.stderr)
        for method, path in [op for op in ops if op not in existing]:
            print(f"adding {method} {path} as {DEFAULT_STATUS}", file=sys.stderr)
    text = render(ops, existing)

    current = None
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            current = f.read()
    if args.check:
        if current != text:
            print(f"{args.out} is out of date: run {sys.argv[0]}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    print(f"{args.out}: {len(ops)} operations", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
