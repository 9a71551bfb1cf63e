"""The stderr reader keeps a bounded tail whatever the child writes."""

from __future__ import annotations

import asyncio

from service.processing.stderr_tail import MAX_LINE_CHARS, StderrTail


def test_only_the_last_lines_are_kept_and_every_line_is_seen_once() -> None:
    # Given a tail of 3 lines that watches every line
    seen: list[str] = []
    tail = StderrTail(max_lines=3, on_line=seen.append)
    # When 1000 lines arrive in awkward chunks, ending without a newline
    data = "".join(f"line {i}\n" for i in range(999)).encode() + b"line 999"
    for start in range(0, len(data), 7):
        tail.feed(data[start : start + 7])
    tail.close()
    # Then the tail holds the last 3, and the watcher saw all 1000 in order
    assert list(tail.lines) == ["line 997", "line 998", "line 999"]
    assert seen == [f"line {i}" for i in range(1000)]


def test_an_endless_line_is_cut_and_carriage_returns_split_lines() -> None:
    tail = StderrTail(max_lines=5)
    for _ in range(1000):
        tail.feed(b"x" * 10_000)
    tail.feed(b"\nframe=1\rframe=2\r\n")
    tail.close()
    assert list(tail.lines) == ["x" * MAX_LINE_CHARS, "frame=1", "frame=2"]


def test_text_is_trimmed_from_the_oldest_end() -> None:
    tail = StderrTail(max_lines=10)
    tail.feed(b"a" * 900 + b"\n" + b"b" * 900 + b"\n" + b"the reason\n")
    text = tail.text(max_chars=100)
    assert len(text) == 100 and text.endswith("the reason") and text.startswith("…")


async def test_collect_reads_a_stream_to_its_end() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"one\ntwo\n")
    reader.feed_eof()
    tail = StderrTail(max_lines=10)
    await tail.collect(reader)
    assert list(tail.lines) == ["one", "two"]
