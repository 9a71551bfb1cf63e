"""Read metric values as Prometheus would: from the text a scrape returns."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(
    client: Any, **labels_of: Any
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status == 200, await response.text()
    return parse(await response.text())


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sample's value; 0 when it does not exist yet (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
