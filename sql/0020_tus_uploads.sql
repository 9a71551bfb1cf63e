-- Resumable (tus 1.0) uploads in progress. A row is the upload's durable state: its
-- offset only ever names bytes already fsynced to `uploads/tus/<upload_id>`. Not a job
-- fact: a finished upload becomes one when a job takes it (job_id set in the same
-- transaction that appends the job's UploadReceived). Expired rows are reaped with
-- their files.

CREATE TABLE tus_uploads (
    upload_id   uuid        PRIMARY KEY,
    owner_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename    text        NOT NULL CHECK (length(filename) BETWEEN 1 AND 1024),
    filetype    text        CHECK (length(filetype) <= 255),
    length      bigint      NOT NULL CHECK (length >= 0),
    "offset"    bigint      NOT NULL DEFAULT 0,
    extension   text        CHECK (extension IN ('.mp4', '.mov')),
    sha256      text        CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    job_id      uuid,
    CONSTRAINT tus_uploads_offset_range CHECK ("offset" BETWEEN 0 AND length),
    CONSTRAINT tus_uploads_complete_has_hash CHECK ("offset" < length OR sha256 IS NOT NULL),
    CONSTRAINT tus_uploads_job_needs_complete CHECK (job_id IS NULL OR "offset" = length)
);

CREATE INDEX tus_uploads_expires_idx ON tus_uploads (expires_at);
