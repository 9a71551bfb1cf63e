"""Running SHA-256 of each upload, kept between PATCH requests in this process.

hashlib cannot save its state anywhere but memory, so each entry is a snapshot taken when
an offset was recorded: (offset, hasher). A PATCH continues from a copy of the snapshot
whose offset equals the row's; when there is none (a restart, another instance wrote the
last chunk, the entry was evicted) it re-reads the stored prefix once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict

MAX_ENTRIES = 4096  # one SHA-256 state is ~0.2 KiB: a bounded few hundred KiB at most


class HashCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[uuid.UUID, tuple[int, hashlib._Hash]] = OrderedDict()
        self._max = max_entries

    def resume(self, upload_id: uuid.UUID, offset: int) -> hashlib._Hash | None:
        """A copy of the hash of the first `offset` bytes, if this process has it."""
        entry = self._entries.get(upload_id)
        if entry is None or entry[0] != offset:
            return None
        self._entries.move_to_end(upload_id)
        return entry[1].copy()

    def remember(self, upload_id: uuid.UUID, offset: int, hasher: hashlib._Hash) -> None:
        self._entries[upload_id] = (offset, hasher.copy())
        self._entries.move_to_end(upload_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, upload_id: uuid.UUID) -> None:
        self._entries.pop(upload_id, None)
