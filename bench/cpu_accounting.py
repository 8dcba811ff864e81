"""Who used the machine's cores during a scenario, and how much memory each worker holds.

Read from /proc only (no psutil needed).  On a 2-core machine where the load generator
shares the cores with the server and PostgreSQL, the split of CPU time between them is
the first thing that explains a throughput ceiling.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcessTimes:
    comm: str
    ppid: int
    cpu_ticks: int


@dataclass(frozen=True)
class Snapshot:
    processes: dict[int, ProcessTimes]
    busy_ticks: int
    children_seconds: float


def _read_stat(pid: int) -> ProcessTimes | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces and parentheses; everything after the last ")" is fixed fields.
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return ProcessTimes(comm, int(fields[1]), int(fields[11]) + int(fields[12]))


def _machine_busy_ticks() -> int:
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in cpu]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values[:8]) - idle


def snapshot() -> Snapshot:
    processes = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            times = _read_stat(int(entry))
            if times is not None:
                processes[int(entry)] = times
    child = os.times()
    return Snapshot(processes, _machine_busy_ticks(), child.children_user + child.children_system)


def children_of(pid: int) -> list[int]:
    return [p for p, t in snapshot().processes.items() if t.ppid == pid]


def cpu_split(before: Snapshot, after: Snapshot, *, server_pids: set[int], sink_pid: int | None,
              store_pids: set[int], seconds: float, proxy_pids: set[int] | frozenset[int] = frozenset()
              ) -> dict[str, float]:
    """Cores used on average by each party between two snapshots.

    ``provider`` is the server measured (qdtax-idp's workers, or the peer's). ``store`` is its
    store's server processes: PostgreSQL's (this benchmark's backends and the shared background
    writers, not other people's sessions on the same server), or the peer's own Redis server.
    ``load generator`` is wrk or the login driver: children of this runner that have finished
    (their time is only known once reaped).  ``proxy`` is nginx in front of the nodes
    (``run.py --nodes``).  ``other`` is whatever else ran on the machine, found as the machine's
    busy time minus the parties named.
    """

    def used(pids) -> float:
        total = 0
        for pid in pids:
            end = after.processes.get(pid)
            if end is None:
                continue
            start = before.processes.get(pid)
            total += end.cpu_ticks - (start.cpu_ticks if start and start.comm == end.comm else 0)
        return total / TICKS

    split = {
        "provider": used(server_pids),
        "store": used(store_pids),
        "sms sink": used([sink_pid] if sink_pid else []),
        "proxy": used(proxy_pids),
        "load generator": after.children_seconds - before.children_seconds,
    }
    machine = (after.busy_ticks - before.busy_ticks) / TICKS
    split["other"] = max(0.0, machine - sum(split.values()))
    return {name: round(value / seconds, 2) for name, value in split.items()}


def machine_busy_cores(window: float = 1.0) -> float:
    """Cores busy on the whole machine over ``window`` seconds."""
    start = _machine_busy_ticks()
    time.sleep(window)
    return (_machine_busy_ticks() - start) / TICKS / window


def wait_for_quiet(max_busy: float, timeout: float) -> float:
    """Wait (at most ``timeout`` s) until the machine is nearly idle; returns the last busy reading.

    Others share this machine: a scenario started while a test suite runs measures the suite.
    """
    deadline = time.monotonic() + timeout
    busy = machine_busy_cores()
    while busy > max_busy and time.monotonic() < deadline:
        busy = machine_busy_cores()
    return round(busy, 2)


def memory_of(pid: int) -> dict[str, float] | None:
    """Resident (now and peak) and proportional set size of one process, in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None

    def kib(text: str, key: str) -> float:
        for line in text.splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    return {"rss_mib": round(kib(status, "VmRSS"), 1), "peak_rss_mib": round(kib(status, "VmHWM"), 1),
            "pss_mib": round(kib(rollup, "Pss"), 1)}
