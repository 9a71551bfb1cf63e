"""Events written before object storage named files by `path` (relative to the data
directory); they must still decode, fold and compare, naming the same text as a key."""

from __future__ import annotations

import json
import uuid

from service.events.base import decode_event
from service.events.job import UploadReceived, UploadsPurged, VariationRendered
from service.projections.job_state import JobState

JOB, FILE, OWNER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SHA = "0" * 64


def test_a_schema_1_upload_names_its_object_by_the_recorded_path() -> None:
    stored = {
        "job_id": str(JOB), "owner_id": str(OWNER), "variations_per_video": 2,
        "files": [{"file_id": str(FILE), "name": "ad.mp4", "size": 10, "sha256": SHA,
                   "path": f"uploads/{JOB}/{FILE}.mp4"}],
        "received_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
    }  # fmt: skip
    event = decode_event(UploadReceived.TYPE, json.dumps(stored))
    assert isinstance(event, UploadReceived)
    assert event.files[0].key == f"uploads/{JOB}/{FILE}.mp4" and event.files[0].etag is None


def test_a_schema_1_render_and_purge_decode_with_keys() -> None:
    rendered = decode_event(VariationRendered.TYPE, json.dumps({
        "job_id": str(JOB), "file_id": str(FILE), "variation_index": 1,
        "path": f"outputs/{JOB}/{FILE}/v01-a1.mp4", "size": 5, "crc32": 7,
        "effects": {"rotation_rad": 0.0, "brightness": 0.0, "contrast": 1.0, "saturation": 1.0},
        "rendered_at": "2026-01-01T00:00:00Z",
    }))  # fmt: skip
    assert isinstance(rendered, VariationRendered)
    assert rendered.key == f"outputs/{JOB}/{FILE}/v01-a1.mp4" and rendered.etag is None
    purged = decode_event(UploadsPurged.TYPE, json.dumps({
        "job_id": str(JOB), "files": [{"file_id": str(FILE), "path": "uploads/x/y.mp4",
                                       "bytes": 10}],
        "bytes_freed": 10, "purged_at": "2026-01-01T00:00:00Z",
    }))  # fmt: skip
    assert isinstance(purged, UploadsPurged) and purged.files[0].key == "uploads/x/y.mp4"


def test_a_job_view_document_from_before_reads_with_keys() -> None:
    document = {
        "job_id": str(JOB), "owner_id": str(OWNER), "status": "completed",
        "variations_per_video": 1, "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-01-02T00:00:00Z", "version": 3, "last_position": 9,
        "files": [{"file_id": str(FILE), "name": "ad.mp4", "size": 10, "sha256": SHA,
                   "upload_path": f"uploads/{JOB}/{FILE}.mp4", "status": "rendered"}],
        "outputs": [{"file_id": str(FILE), "variation_index": 1,
                     "path": f"outputs/{JOB}/{FILE}/v01-a1.mp4", "size": 5, "crc32": 7,
                     "effects": {"rotation_rad": 0.0, "brightness": 0.0, "contrast": 1.0,
                                 "saturation": 1.0},
                     "rendered_at": "2026-01-01T00:00:00Z"}],
    }  # fmt: skip
    state = JobState.model_validate_json(json.dumps(document))
    assert state.files[0].upload_key == f"uploads/{JOB}/{FILE}.mp4"
    assert state.outputs[0].key == f"outputs/{JOB}/{FILE}/v01-a1.mp4"
    assert state.outputs[0].etag is None


def test_new_events_record_key_and_etag_and_say_schema_2() -> None:
    assert UploadReceived.SCHEMA_VERSION == VariationRendered.SCHEMA_VERSION == 2
    assert "key" in VariationRendered.model_fields and "path" not in VariationRendered.model_fields
