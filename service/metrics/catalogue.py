"""Every metric this service exports, in one registry of its own per process.

Names follow Prometheus conventions: one `vr_` prefix, base units (seconds, bytes),
`_total` counters, histograms rather than summaries, and no job or user ids as labels
(their number is unbounded). The registry is the process's own (no multiprocess mode):
each process is scraped on its own port. Values are process-wide, so tests compare
before and after.
"""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
# The client library's standard process metrics (RSS, CPU, open fds, GC, Python version).
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Request latencies from 1 ms to 30 s; renders and job times from 0.1 s to 1 h.
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_WORK_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

# --- HTTP --------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "vr_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "vr_http_request_duration_seconds",
    "Time from a request's arrival to its last byte, by method and route template.",
    ["method", "route"],
    buckets=_HTTP_BUCKETS,
    registry=REGISTRY,
)

# --- the log -----------------------------------------------------------------------------
EVENTS_APPENDED = Counter(
    "vr_events_appended_total",
    "Events this process appended to the log, by type.",
    ["type"],
    registry=REGISTRY,
)


@functools.cache
def appended(event_type: str) -> Any:
    """The append counter's child for one type, looked up once (appends are hot)."""
    return EVENTS_APPENDED.labels(event_type)


LOG_HEAD = Gauge(
    "vr_log_head_position",
    "Position of the newest committed event (read at scrape time).",
    registry=REGISTRY,
)
SUBSCRIPTION_POSITION = Gauge(
    "vr_subscription_position",
    "Log position each subscription has applied up to (read at scrape time).",
    ["subscription"],
    registry=REGISTRY,
)
SUBSCRIPTION_LAG_EVENTS = Gauge(
    "vr_subscription_lag_events",
    "Committed events each subscription has not applied yet.",
    ["subscription"],
    registry=REGISTRY,
)
SUBSCRIPTION_LAG_SECONDS = Gauge(
    "vr_subscription_lag_seconds",
    "Age of the oldest event each subscription has not applied yet; 0 when caught up.",
    ["subscription"],
    registry=REGISTRY,
)

# --- jobs --------------------------------------------------------------------------------
JOBS = Gauge(
    "vr_jobs",
    "Jobs in the job view, by status (read at scrape time).",
    ["status"],
    registry=REGISTRY,
)
CLAIM_WAIT = Histogram(
    "vr_job_claim_wait_seconds",
    "Time from a job's upload to its first claim by a worker.",
    buckets=_WORK_BUCKETS,
    registry=REGISTRY,
)
RENDER_DURATION = Histogram(
    "vr_render_duration_seconds",
    "Time ffmpeg took to render one variation (successful renders).",
    buckets=_WORK_BUCKETS,
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "vr_job_duration_seconds",
    "Time from a job's upload to its ProcessingFinished, by outcome.",
    ["outcome"],
    buckets=_WORK_BUCKETS,
    registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "vr_job_failures_total",
    "Failed files and given-up jobs, by reason class (e.g. unreadable_video, render_failed, "
    "gave_up).",
    ["reason"],
    registry=REGISTRY,
)

# --- downloads ---------------------------------------------------------------------------
DOWNLOAD_BYTES = Counter(
    "vr_download_bytes_total",
    "Archive bytes sent by completed downloads (whole archives and ranges).",
    registry=REGISTRY,
)
DOWNLOAD_REQUESTS = Counter(
    "vr_download_requests_total",
    "Download requests, by status (200, 206, 304, 401, 404, 410, 416, …).",
    ["status"],
    registry=REGISTRY,
)
DOWNLOAD_RESUMES = Counter(
    "vr_download_resumes_total",
    "Downloads answered with a range (206): resumed or partial fetches.",
    registry=REGISTRY,
)

# --- live streams and uploads ------------------------------------------------------------
LIVE_STREAMS = Gauge(
    "vr_live_streams_open",
    "Server-sent event streams open now.",
    registry=REGISTRY,
)
UPLOADS_IN_PROGRESS = Gauge(
    "vr_uploads_in_progress",
    "Uploads being received now.",
    registry=REGISTRY,
)
UPLOAD_BYTES = Counter(
    "vr_upload_bytes_total",
    "Bytes of video received in uploads that became jobs.",
    registry=REGISTRY,
)
