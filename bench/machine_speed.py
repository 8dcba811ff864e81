"""How fast this machine runs Python and argon2id at the moment, to compare runs of different hours.

The same code measured 40% apart in throughput at different hours of one day on this machine,
while the server's own floor (``wsgi_floor.py``, Rust code) stayed the same: what varies is how
fast Python itself runs.  Each run therefore records two single-threaded CPU times taken just
before it: a fixed piece of Python of the kind a request does (dicts, strings, ints), and one
argon2id verification with the provider's own hasher at the OWASP profile — and, once the peer
of ``run.py --peer`` is installed (bench/peer/), the same verification by the peer's hasher.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPEATS = 5
PEER_DIR = Path(__file__).resolve().parent / "peer"


def _python_work() -> int:
    total = 0
    for number in range(200_000):
        item = {"number": number, "text": str(number)}
        total += len(item["text"]) + item["number"] % 7
    return total


def _best_cpu_ms(work: Callable[[], object]) -> float:
    """The fastest of REPEATS runs (the least disturbed one), in CPU milliseconds."""
    times = []
    for _ in range(REPEATS):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) * 1000)
    return round(min(times), 2)


def measure() -> dict[str, float]:
    from idp.factors.password import HASH_PROFILES

    hasher = HASH_PROFILES["owasp"]
    stored = hasher.hash("Bench#Pass-2026")
    speed = {"python_ms": _best_cpu_ms(_python_work),
             "argon2id_ms": _best_cpu_ms(lambda: hasher.verify(stored, "Bench#Pass-2026"))}
    if (PEER_DIR / "node_modules").is_dir():
        # The same hash, verified by the peer's @node-rs/argon2 (best of REPEATS, CPU ms).
        completed = subprocess.run(["node", str(PEER_DIR / "argon2_speed.js"), stored, "Bench#Pass-2026"],
                                   capture_output=True, text=True, timeout=60, check=True)
        speed["peer_argon2id_ms"] = float(completed.stdout)
    return speed


if __name__ == "__main__":
    print(measure())
