"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) of the gunicorn workers.

    .venv/bin/python bench/profile_summary.py bench/results/profiles/postgresql-sync-w2-refresh.txt

Only worker processes count, not the gunicorn arbiter.  Prints where the
sampled time went: by the package of the innermost frame (self time),
and the share of samples in which chosen frames appear (inclusive time).  Samples taken
with ``--idle`` include time a worker waits; those are named by what it waits on.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.+?) \((?P<path>[^():]+)(?::(?P<line>\d+))?\)$")

#: Innermost frames that mean "waiting", not computing.
WAITS = {
    ("psycopg", "wait"): "waiting on PostgreSQL",
    ("psycopg", "wait_c"): "waiting on PostgreSQL",
    ("gunicorn", "accept"): "idle: waiting for a connection",
    ("gunicorn", "wait"): "idle: waiting for a connection",
    ("selectors", "select"): "idle: waiting for a connection",
    ("socket", "accept"): "idle: waiting for a connection",
    ("threading", "wait"): "idle: thread waiting for work",
    ("concurrent", "_worker"): "idle: thread waiting for work",
    ("urllib3", "_make_request"): "waiting on the SMS gateway",
}


def package_of(path: str) -> str:
    if path.startswith("<"):
        return path
    first = path.split("/", 1)[0]
    return first.removesuffix(".py")


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw, _, count = line.rpartition(" ")
        parts = raw.split(";")
        # Only the workers (stacks under two "process" roots: arbiter, then worker); the
        # arbiter's own idle loop is not the provider at work.
        if sum(part.startswith("process ") for part in parts) < 2 or not count.isdigit():
            continue
        frames = [(m["func"], m["path"]) for m in map(FRAME.match, parts) if m]
        if frames:
            stacks.append((frames, int(count)))
    return stacks


def summarise(path: Path, top: int = 25) -> str:
    stacks = parse(path)
    total = sum(count for _, count in stacks)
    self_by_package: Counter[str] = Counter()
    self_by_frame: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    busy = 0
    for frames, count in stacks:
        func, file = frames[-1]
        leaf_package = package_of(file)
        wait = WAITS.get((leaf_package, func.rsplit(".", 1)[-1]))
        self_by_package[wait or leaf_package] += count
        if wait and wait.startswith("idle"):
            continue  # threads with no request to serve: left out of the request-time tables
        busy += count
        self_by_frame[f"{func} ({file})"] += count
        for label in {f"{f} ({p})" for f, p in frames}:
            inclusive[label] += count

    def pct(n: int, of: int) -> str:
        return f"{100 * n / of:5.1f}%" if of else "    -"

    lines = [f"{path.name}: {total} samples, {busy} while serving a request", "",
             "all samples by package of the innermost frame (waits named):"]
    lines += [f"  {pct(n, total)}  {name}" for name, n in self_by_package.most_common(top)]
    lines += ["", "request time by innermost function (share of samples while serving a request):"]
    lines += [f"  {pct(n, busy)}  {name}" for name, n in self_by_frame.most_common(top)]
    lines += ["", "request time by frame on the stack (inclusive), provider and libraries:"]
    interesting = [(name, n) for name, n in inclusive.most_common()
                   if not name.split("(")[-1].startswith(("gunicorn", "flask/app.py", "<frozen", "threading",
                                                          "concurrent"))]
    lines += [f"  {pct(n, busy)}  {name}" for name, n in interesting[: top * 2]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for path in args.profiles:
        print(summarise(path, args.top))
        print()


if __name__ == "__main__":
    main()
