-- One checkpoint row per named subscriber (projection, reactor, worker).
-- The checkpoint is a (transaction_id, position) pair: the reader's commit-order key.

CREATE TABLE subscriptions (
    name            text PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT '0'::xid8,
    position        bigint      NOT NULL DEFAULT 0,
    holder          text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
