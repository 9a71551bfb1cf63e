"""Schemathesis hooks for the fuzzing session (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("application/offset+octet-stream")
def tus_chunk(ctx: Any, value: Any) -> bytes:
    """A tus PATCH body is raw bytes; schemathesis knows no serializer for its media type."""
    return value if isinstance(value, bytes) else str(value).encode()
