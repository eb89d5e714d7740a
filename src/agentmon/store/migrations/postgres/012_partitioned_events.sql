-- events partitioned by time (issue 14): a new (empty) install gets a range-partitioned
-- events table with the original columns; the processors create the day or week partitions
-- (agentmon.store.partitions) and retention drops whole partitions. A unique key on a
-- partitioned table must hold the partition key, hence PRIMARY KEY (event_id, ts).
-- An install that already holds events keeps its table until `agentmon migrate
-- partition-events` converts it online (docs/scaling.md).
DO $$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = 'events'::regclass) = 'r'
     AND NOT EXISTS (SELECT 1 FROM events) THEN
    DROP TABLE events;
    CREATE TABLE events (
      event_id TEXT NOT NULL,
      ts TIMESTAMPTZ NOT NULL,
      type TEXT NOT NULL,
      session_id TEXT,
      run_id TEXT,
      trace_id TEXT,
      span_id TEXT,
      parent_span_id TEXT,
      source_framework TEXT,
      client_id TEXT,
      payload JSONB NOT NULL,
      PRIMARY KEY (event_id, ts)
    ) PARTITION BY RANGE (ts);
    CREATE INDEX events_ts ON events (ts DESC);
    CREATE INDEX events_session_ts ON events (session_id, ts DESC);
    CREATE TABLE events_default PARTITION OF events DEFAULT;
  ELSIF (SELECT relkind FROM pg_class WHERE oid = 'events'::regclass) = 'r' THEN
    RAISE NOTICE 'events holds rows: run `agentmon migrate partition-events` to partition it';
  END IF;
END
$$;
