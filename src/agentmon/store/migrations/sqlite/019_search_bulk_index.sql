-- Search documents reach the FTS5 index in one statement per write batch (agentmon.store.search
-- `write_sqlite` inserts the batch's new rows after its upsert) instead of a trigger per row:
-- FTS5 takes rows set by set several times cheaper. Changed texts and deletions keep their
-- triggers (rare: a longer text for a key seen before; retention).
DROP TRIGGER search_docs_added;
