#!/usr/bin/env python3
"""Checks Sluice's Envoy subset against upstream .proto files.

Every field and enum value defined under proto/envoy/ and proto/google/
must exist in the upstream file of the same path, in the same message or
enum, with the same number. Each UPSTREAM_DIR holds envoy/... or google/...
(a data-plane-api checkout or envoy's api/ folder; googleapis), e.g. the
deps/envoy-api and deps/googleapis folders of the npm package
@grpc/grpc-js-xds:

  proto/envoy/check_subset.py .../deps/envoy-api .../deps/googleapis

Exits 1 and lists each mismatch if any. The parser is textual (comments and
[options] removed, braces tracked), enough for these files.
"""
import pathlib
import re
import sys

TOKENS = re.compile(
    r"\b(message|enum|oneof|service)\s+(\w+)\s*\{"  # a named block
    r"|\{|\}"  # an anonymous block (rpc bodies, options) or an end
    r"|(\w+)\s*=\s*(\d+)\s*;"  # a field or enum value
)


def numbered_names(text):
    """{("Msg.Nested", "field"): number} for every field and enum value."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"\[[^\]]*\]", "", text)
    found = {}
    scope = []
    for m in TOKENS.finditer(text):
        if m.group(1):
            # oneofs do not name a scope: their fields belong to the message.
            scope.append(m.group(2) if m.group(1) != "oneof" else None)
        elif m.group(0) == "{":
            scope.append(None)
        elif m.group(0) == "}":
            scope.pop()
        else:
            path = ".".join(s for s in scope if s)
            found[(path, m.group(3))] = int(m.group(4))
    return found


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    upstream_roots = [pathlib.Path(a) for a in sys.argv[1:]]
    ours_root = pathlib.Path(__file__).resolve().parent.parent
    checked = 0
    problems = []
    ours_files = sorted(ours_root.glob("envoy/**/*.proto")) + sorted(ours_root.glob("google/**/*.proto"))
    for ours in ours_files:
        rel = ours.relative_to(ours_root)
        theirs = next((r / rel for r in upstream_roots if (r / rel).exists()), None)
        if theirs is None:
            problems.append(f"{rel}: no upstream file")
            continue
        upstream = numbered_names(theirs.read_text())
        for (scope, name), number in numbered_names(ours.read_text()).items():
            checked += 1
            if upstream.get((scope, name)) != number:
                problems.append(
                    f"{rel}: {scope}.{name} = {number}, upstream {upstream.get((scope, name))}"
                )
    for p in problems:
        print(p)
    print(f"{checked} fields and enum values checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
