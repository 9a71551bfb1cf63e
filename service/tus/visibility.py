"""Who may touch an upload: its owner only, and only until it expires."""

from __future__ import annotations

from datetime import datetime

from service.accounts.principal import Principal
from service.errors import NotFound, UploadExpired
from service.tus.rows import UploadRow


def visible_row(row: UploadRow | None, principal: Principal, now: datetime) -> UploadRow:
    """The caller's upload; 404 for unknown or someone else's (the same answer), 410 once
    expired."""
    if row is None or row.owner_id != principal.user_id:
        raise NotFound("no such upload")
    if row.expired(now):
        raise UploadExpired()
    return row
