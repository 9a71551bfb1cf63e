-- Bearer tokens, stored only as their SHA-256: a leaked table grants no access.

CREATE TABLE auth_tokens (
    token_hash      bytea PRIMARY KEY CONSTRAINT auth_tokens_hash_length CHECK (length(token_hash) = 32),
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);

CREATE INDEX auth_tokens_user_idx ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expires_idx ON auth_tokens (expires_at);
