-- Tamper evidence: each event's hash chains to the previous event of its stream.
-- The canonical encoding is PostgreSQL's own jsonb text form (keys sorted, fixed
-- spacing), so the same function recomputes it for `audit verify`.

CREATE FUNCTION event_chain_hash(
    previous_hash bytea,
    stream text,
    version bigint,
    type text,
    data jsonb,
    metadata jsonb
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to(
        coalesce(encode(previous_hash, 'hex'), '') || E'\n' ||
        stream || E'\n' ||
        version::text || E'\n' ||
        type || E'\n' ||
        data::text || E'\n' ||
        metadata::text,
        'UTF8'))
$$;
