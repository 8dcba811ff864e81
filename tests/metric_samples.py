"""How much a metric grew during a test: ``growth = MetricGrowth(); ...; growth("name", label="value")``.

In-process the metrics live in prometheus-client's default registry, shared by every app of the
test run, so a test reads the growth of a value, never the value itself.
"""

from __future__ import annotations

from prometheus_client import REGISTRY


class MetricGrowth:
    def __init__(self):
        self.before = {(s.name, tuple(sorted(s.labels.items()))): s.value
                       for family in REGISTRY.collect() for s in family.samples}

    def __call__(self, name: str, **labels: str) -> float:
        now = REGISTRY.get_sample_value(name, labels) or 0.0
        return now - self.before.get((name, tuple(sorted(labels.items()))), 0.0)
