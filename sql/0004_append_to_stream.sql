-- Append a batch of events to one stream in a single round trip.
--   expected_version: NULL = any, 0 = the stream must not exist, N = the stream's version.
-- Re-appending ids that are all stored with the same stream, type and data is a no-op
-- that returns the stored rows. Errors carry SQLSTATEs the store maps to typed errors:
--   VR001 wrong expected version (DETAIL = actual version)
--   VR002 an id is already stored with different content (DETAIL = the ids)

CREATE FUNCTION append_to_stream(
    p_stream text,
    p_expected_version bigint,
    p_event_ids uuid[],
    p_types text[],
    p_schema_versions integer[],
    p_data text[],
    p_metadata text[]
) RETURNS TABLE (out_position bigint, out_version bigint, out_transaction_id xid8)
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer := cardinality(p_event_ids);
    v_version bigint;
    v_hash bytea;
    v_data jsonb[] := p_data::jsonb[];
    v_metadata jsonb[] := p_metadata::jsonb[];
    v_hashes bytea[] := '{}';
BEGIN
    IF EXISTS (SELECT 1 FROM events WHERE event_id = ANY (p_event_ids)) THEN
        IF (SELECT count(*) FROM events WHERE event_id = ANY (p_event_ids)) = v_count
           AND NOT EXISTS (
               SELECT 1
               FROM unnest(p_event_ids, p_types, v_data) AS n(event_id, type, data)
               JOIN events e ON e.event_id = n.event_id
               WHERE e.stream_id <> p_stream OR e.type <> n.type OR e.data <> n.data)
        THEN
            RETURN QUERY
                SELECT e.position, e.version, e.transaction_id
                FROM events e WHERE e.event_id = ANY (p_event_ids) ORDER BY e.position;
            RETURN;
        END IF;
        RAISE EXCEPTION 'event id already stored with different content'
            USING ERRCODE = 'VR002',
                  DETAIL = (SELECT string_agg(event_id::text, ',') FROM events
                            WHERE event_id = ANY (p_event_ids));
    END IF;

    SELECT e.version, e.hash INTO v_version, v_hash
    FROM events e WHERE e.stream_id = p_stream
    ORDER BY e.version DESC LIMIT 1;
    v_version := coalesce(v_version, 0);

    IF p_expected_version IS NOT NULL AND v_version <> p_expected_version THEN
        RAISE EXCEPTION 'wrong expected version'
            USING ERRCODE = 'VR001', DETAIL = v_version::text;
    END IF;

    -- The chain is sequential; the insert is one statement for the whole batch.
    FOR i IN 1 .. v_count LOOP
        v_hash := event_chain_hash(v_hash, p_stream, v_version + i, p_types[i], v_data[i],
                                   v_metadata[i]);
        v_hashes := v_hashes || v_hash;
    END LOOP;

    RETURN QUERY
        INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata,
                            hash)
        SELECT p_stream, v_version + n.i, n.event_id, n.type, n.schema_version, n.data,
               n.metadata, n.hash
        FROM unnest(p_event_ids, p_types, p_schema_versions, v_data, v_metadata, v_hashes)
             WITH ORDINALITY AS n(event_id, type, schema_version, data, metadata, hash, i)
        ORDER BY n.i
        RETURNING position, version, transaction_id;
END;
$$;
