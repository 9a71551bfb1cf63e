-- Idempotency-Key records for POST /api/jobs: the first request claims (user, key) with no
-- response yet; on success it stores the response, on failure it deletes its claim. A
-- repeat with the same key gets the stored response (or 409 while the first still runs).

CREATE TABLE idempotency_keys (
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key             text        NOT NULL CONSTRAINT idempotency_keys_key_length
                                    CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint     text        NOT NULL,
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
