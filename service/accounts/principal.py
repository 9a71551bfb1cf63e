"""Who is making a request, as every authorisation decision sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    username: str
    is_admin: bool
