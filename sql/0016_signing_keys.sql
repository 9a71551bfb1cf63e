-- Secrets shared by every instance (e.g. the HMAC key of signed download links).

CREATE TABLE signing_keys (
    name        text PRIMARY KEY,
    secret      bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
