"""``/metrics``: worker counters plus gauges computed from the broker and Postgres at scrape.

Projector lag is the log end minus the projection's checkpoint, per partition;
it is read where the truth is (the log and the checkpoint table), so it is
right whichever process runs the projectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["ScrapeData", "render_metrics"]


@dataclass
class ScrapeData:
    lag: dict[tuple[str, str, int], int]  # (projection, topic, partition) -> events behind
    position: dict[tuple[str, str, int], int]  # checkpoint: events applied
    dead_letters: dict[str, int]  # dlq topic -> records (replay markers included)


class _Snapshot:
    def __init__(self, data: ScrapeData) -> None:
        self.data = data

    def collect(self) -> Iterable[Metric]:
        lag = GaugeMetricFamily(
            "nls_projector_lag",
            "Events not yet applied",
            labels=["projection", "topic", "partition"],
        )
        pos = GaugeMetricFamily(
            "nls_projection_events_applied",
            "Events applied by a projection (its checkpoint)",
            labels=["projection", "topic", "partition"],
        )
        for (proj, topic, part), n in sorted(self.data.lag.items()):
            lag.add_metric([proj, topic, str(part)], n)
        for (proj, topic, part), n in sorted(self.data.position.items()):
            pos.add_metric([proj, topic, str(part)], n)
        dlq = GaugeMetricFamily(
            "nls_dlq_depth",
            "Records in a dead-letter topic (dead letters and replay markers)",
            labels=["topic"],
        )
        for topic, n in sorted(self.data.dead_letters.items()):
            dlq.add_metric([topic], n)
        return [lag, pos, dlq]


def render_metrics(data: ScrapeData, *, multiprocess: bool = False) -> bytes:
    """This process's metrics (or every worker's, in multiprocess mode) and the snapshot."""
    if multiprocess:
        base = CollectorRegistry()
        MultiProcessCollector(base)  # type: ignore[no-untyped-call]
    else:
        base = REGISTRY
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(data))
    return bytes(generate_latest(base)) + bytes(generate_latest(snapshot))
