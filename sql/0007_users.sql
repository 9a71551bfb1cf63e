-- Accounts. Usernames are unique regardless of case and limited to a safe alphabet; the
-- password hash carries its own scrypt parameters (`scrypt$n$r$p$salt$hash`).

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    username        text        NOT NULL
        CONSTRAINT users_username_format CHECK (username ~ '^[A-Za-z0-9._-]{1,64}$'),
    password_hash   text        NOT NULL,
    is_admin        boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_username_key ON users (lower(username));
