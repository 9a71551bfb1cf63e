"""Configuration: every setting comes from a `VR_`-prefixed environment variable."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigurationError


class Role(StrEnum):
    """Which parts of the service this process runs; `all` is the single-process default."""

    ALL = "all"
    API = "api"
    WORKER = "worker"
    REACTORS = "reactors"


class Settings(BaseSettings):
    """All knobs in one validated object; units are in the field names."""

    model_config = SettingsConfigDict(env_prefix="VR_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means an embedded server under data_dir."
    )
    data_dir: Path = Field(default=Path("data"), description="Uploads, outputs, embedded pgdata.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    role: Role = Role.ALL
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    poll_interval_s: float = Field(
        default=1.0, gt=0, description="Subscriptions poll this often when no NOTIFY arrives."
    )
    read_your_writes_timeout_s: float = Field(default=5.0, gt=0)
    download_link_ttl_s: int = Field(
        default=900, gt=0, description="Signed download links stay valid this long."
    )
    ffmpeg_path: str | None = Field(
        default=None, description="ffmpeg binary; unset: `ffmpeg` on PATH, else imageio-ffmpeg's."
    )
    token_ttl_s: int = Field(default=86_400, ge=1, description="Bearer tokens expire after this.")
    login_max_failures: int = Field(
        default=10, ge=1, description="Failed logins per username or address within the window."
    )
    login_window_s: float = Field(default=300.0, gt=0, description="The login limiter's window.")
    max_upload_bytes: int = Field(default=500 * 2**20, ge=1, description="Per uploaded file.")
    max_files_per_job: int = Field(default=10, ge=1, le=1000)
    retention_s: int = Field(default=86_400, ge=1, description="Job lifetime after upload.")
    upload_reserve_bytes: int = Field(
        default=0, ge=0, description="Uploads must leave this much disk free (507 otherwise)."
    )
    expiry_interval_s: float = Field(
        default=60, gt=0, description="The expiry scheduler looks for expired jobs this often."
    )
    disk_high_water: float = Field(
        default=0.85, gt=0, le=1, description="Data-volume usage above which results are evicted."
    )
    disk_low_water: float = Field(
        default=0.80, gt=0, le=1, description="Eviction stops once projected usage is below this."
    )
    # issue 13: renders at once (from up to that many jobs), by default one per core
    worker_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Renders one worker process runs at once; unset: one per core.",
    )
    ffmpeg_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Threads per ffmpeg; unset: all cores for one render, shared out for several.",
    )
    # --- object storage (issue 15) ---
    storage_url: str | None = Field(
        default=None, description="Unset or `file:`: the data dir; `s3://bucket/prefix`: a bucket."
    )
    s3_endpoint: str | None = Field(
        default=None, description="S3-compatible endpoint URL; unset: AWS's."
    )
    s3_region: str | None = Field(default=None, description="The bucket's region.")
    storage_quota_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Eviction compares the bytes the log records with this instead of statvfs.",
    )
    # --- metrics (issue 14) ---
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token `/metrics` requires; unset: loopback clients only.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Also serve `/metrics` alone on this port (worker and reactors processes).",
    )
    # --- live streams (issue 10) ---
    live_heartbeat_s: float = Field(
        default=15.0, gt=0, description="Live streams send a heartbeat comment this often."
    )

    # Resumable uploads (tus, issue 11)
    upload_expiry_s: int = Field(
        default=86_400, ge=1, description="An unfinished or unused tus upload lives this long."
    )
    # issue 16: what a crash mid-upload leaves, which no event names
    orphan_grace_s: float = Field(
        default=3600,
        ge=0,
        description="Upload files no event or tus row names are deleted once this old.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if not url:
            return None  # an empty variable means "not set": use the embedded server
        if not url.startswith(("postgres://", "postgresql://")):
            raise ValueError("must start with postgresql://")
        return url

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, url: str | None) -> str | None:
        if not url or url == "file:":
            return None
        if not url.startswith("s3://") or len(url) <= len("s3://") or url[5] == "/":
            raise ValueError("must be unset, file: or s3://bucket[/prefix]")
        return url

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, token: object) -> object:
        return None if token == "" else token  # an empty token must never match

    @model_validator(mode="after")
    def _check_pool(self) -> Settings:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("VR_POOL_MIN_SIZE must not exceed VR_POOL_MAX_SIZE")
        return self

    @model_validator(mode="after")
    def _check_water_marks(self) -> Settings:
        if self.disk_low_water >= self.disk_high_water:
            raise ValueError("VR_DISK_LOW_WATER must be below VR_DISK_HIGH_WATER")
        return self

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def tus_dir(self) -> Path:
        """Resumable uploads in progress (issue 11); under `uploads/` so a finished one is
        hard-linked into its job's folder on the same volume."""
        return self.uploads_dir / "tus"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def scratch_dir(self) -> Path:
        """This machine's working files (a worker's fetched sources and fresh renders)."""
        return self.data_dir / "scratch"

    @property
    def pgdata_dir(self) -> Path:
        return self.data_dir / "pgdata"


def load_settings(**overrides: object) -> Settings:
    """Read the environment; turn pydantic's report into one readable ConfigurationError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"VR_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(problems) from None
