"""Running SHA-256 of each upload, and its row as last recorded, kept between PATCH
requests in this process.

hashlib cannot save its state anywhere but memory, so each entry is a snapshot taken when
an offset was recorded: (row, hasher), the hasher covering the row's offset. A PATCH
continues from a copy of the snapshot whose offset equals the row's; when there is none (a
restart, another instance wrote the last chunk, the entry was evicted) it re-reads the
stored prefix once. The row lets a PATCH skip reading it again (receive.py says when
that is safe).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict

from service.tus.rows import UploadRow

MAX_ENTRIES = 4096  # a row and a SHA-256 state are ~1 KiB: a bounded few MiB at most


class HashCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[uuid.UUID, tuple[UploadRow, hashlib._Hash]] = OrderedDict()
        self._max = max_entries

    def resume(self, upload_id: uuid.UUID, offset: int) -> hashlib._Hash | None:
        """A copy of the hash of the first `offset` bytes, if this process has it."""
        entry = self._entries.get(upload_id)
        if entry is None or entry[0].offset != offset:
            return None
        self._entries.move_to_end(upload_id)
        return entry[1].copy()

    def recorded(self, upload_id: uuid.UUID) -> UploadRow | None:
        """The row as this process last recorded it (maybe outdated since)."""
        entry = self._entries.get(upload_id)
        return None if entry is None else entry[0]

    def remember(self, row: UploadRow, hasher: hashlib._Hash) -> None:
        """`row` was just recorded, and `hasher` covers its offset."""
        self._entries[row.upload_id] = (row, hasher.copy())
        self._entries.move_to_end(row.upload_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, upload_id: uuid.UUID) -> None:
        self._entries.pop(upload_id, None)
