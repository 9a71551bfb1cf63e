"""The error body every 4xx and 5xx carries: `{"error": {"code", "message", …}}`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Machine-readable reason, e.g. `not_found`, `bad_request`.")
    message: str = Field(description="What went wrong, for a human.")
    field: str | None = Field(default=None, description="The request field at fault, if any.")
    file: str | None = Field(default=None, description="The uploaded file at fault, if any.")
    job_status: str | None = Field(
        default=None, description="The job's status, when it is why the request was refused."
    )
    upload: str | None = Field(
        default=None, description="The resumable upload at fault, if any (issue 11)."
    )


class ErrorBody(BaseModel):
    """Every error answer, also those aiohttp produces itself (bad request line, unknown
    route, method not allowed, header too long)."""

    error: ErrorDetail
