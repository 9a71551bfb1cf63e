"""One `Range` is served; several or malformed ones get the whole archive; ranges outside
it are refused with 416."""

from __future__ import annotations

import pytest

from service.download.ranges import content_range, parse_range
from service.errors import RangeNotSatisfiable


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-", (0, 1000)),
        ("bytes=10-", (10, 1000)),
        ("bytes=999-", (999, 1000)),
        ("bytes=0-0", (0, 1)),
        ("bytes=10-19", (10, 20)),
        ("bytes=10-5000", (10, 1000)),
        ("bytes=-1", (999, 1000)),
        ("bytes=-100", (900, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("BYTES=1-2", (1, 3)),
        (" bytes = 1 - 2 ", (1, 3)),
    ],
)
def test_a_single_range_selects_a_half_open_span(header, span):
    assert parse_range(header, 1000) == span


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=0-1,5-6",
        "bytes=0-1, 5-6",
        "bytes=-",
        "bytes=5-1",
        "bytes=a-b",
        "items=0-1",
        "bytes 0-1",
        "bytes=0x10-",
        "bytes=--1",
        "bytes=1-2-3",
    ],
)
def test_absent_several_or_malformed_ranges_mean_the_whole_archive(header):
    assert parse_range(header, 1000) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=1000-", 1000),
        ("bytes=5000-6000", 1000),
        ("bytes=-0", 1000),
        ("bytes=0-", 0),
        ("bytes=-5", 0),
    ],
)
def test_a_range_selecting_no_byte_is_not_satisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse_range(header, size)
    assert raised.value.status == 416
    assert raised.value.code == "range_not_satisfiable"
    assert raised.value.size == size


def test_content_range_names_the_inclusive_last_byte():
    assert content_range(10, 20, 1000) == "bytes 10-19/1000"
