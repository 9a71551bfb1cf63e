"""The `Range` request header (RFC 9110 §14): one byte range of the archive, or none.

Only a single range is served; anything else gets the whole archive (200), which RFC 9110
allows: a server may ignore `Range`, and must ignore one it cannot parse.
"""

from __future__ import annotations

import re

from service.errors import RangeNotSatisfiable

# `bytes=first-last`, `bytes=first-` or `bytes=-suffix`; the unit is case-insensitive.
_SINGLE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The half-open byte span [start, end) to send, or None to send everything.

    Raises RangeNotSatisfiable (416) when a well-formed range selects no byte.
    """
    if not header or "," in header:
        return None
    match = _SINGLE_RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(size - suffix, 0), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = min(int(last) + 1, size) if last else size
    return start, end


def content_range(start: int, end: int, size: int) -> str:
    """The `Content-Range` value for the half-open span [start, end) of `size` bytes."""
    return f"bytes {start}-{end - 1}/{size}"
