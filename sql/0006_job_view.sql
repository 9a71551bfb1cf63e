-- The job read model: one row per job. Columns that queries filter or sort on are
-- real columns; the folded job state (files, outputs, errors) is the `state` document,
-- written by the projection from service/projections/job_state.py.

CREATE TABLE job_view (
    job_id          uuid PRIMARY KEY,
    owner_id        uuid        NOT NULL,
    status          text        NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    version         bigint      NOT NULL,
    last_position   bigint      NOT NULL,
    state           jsonb       NOT NULL
);

CREATE INDEX job_view_owner_created_idx ON job_view (owner_id, created_at DESC, job_id DESC);
CREATE INDEX job_view_status_expires_idx ON job_view (status, expires_at);
