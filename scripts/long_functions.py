#!/usr/bin/env python3
"""Functions longer than a limit (default 80 lines) in the workspace's Rust sources, tests
left out (`#[cfg(test)]` items, `tests/` folders). A function whose doc or comment lines just
above it hold `Long by design:` with the reason is listed apart, not counted.

    python3 scripts/long_functions.py [--limit 80]

Exit status 1 when a function is too long without a reason. A reader of braces, not a Rust
parser: braces inside strings and character literals on one line are discounted, which is
what the workspace's code needs.
"""

import argparse
import pathlib
import re
import sys

FN = re.compile(r"\s*(pub(\([a-z:]+\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")
REASON = "Long by design:"


def strip(line: str) -> str:
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split("//")[0]


def block_end(lines: list[str], i: int) -> int | None:
    """Index of the line closing the item that starts at line i (None: no body)."""
    depth, started = 0, False
    for j in range(i, len(lines)):
        s = strip(lines[j])
        if not started and ";" in s and "{" not in s:
            return None
        depth += s.count("{") - s.count("}")
        started = started or "{" in s
        if started and depth <= 0:
            return j
    return None


def reason_above(lines: list[str], i: int) -> bool:
    j = i - 1
    while j >= 0 and (lines[j].strip().startswith(("//", "#[")) or not lines[j].strip()):
        if REASON in lines[j]:
            return True
        if not lines[j].strip():
            break
        j -= 1
    return False


def scan(path: pathlib.Path, limit: int):
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        if re.match(r"\s*#\[cfg\(test\)\]", lines[i]):
            end = block_end(lines, i + 1)
            i = (end if end is not None else i) + 1
            continue
        m = FN.match(lines[i])
        if m:
            end = block_end(lines, i)
            if end is not None and end - i + 1 > limit:
                yield end - i + 1, f"{path}:{i + 1}", m.group(6), reason_above(lines, i)
        i += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=80)
    a = ap.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    found = []
    for p in sorted(root.glob("*/src/**/*.rs")) + sorted(root.glob("*/benches/*.rs")) + sorted(root.glob("*/examples/*.rs")):
        if "target" in p.relative_to(root).parts:
            continue
        found += [(n, str(pathlib.Path(w).relative_to(root)), f, r) for n, w, f, r in scan(p, a.limit)]
    found.sort(reverse=True)
    bad = [x for x in found if not x[3]]
    for n, where, name, _ in bad:
        print(f"{n:4} {where} {name}")
    for n, where, name, _ in (x for x in found if x[3]):
        print(f"{n:4} {where} {name} (long by design, reason above it)")
    print(f"{len(bad)} functions over {a.limit} lines without a reason, {len(found) - len(bad)} with one")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
