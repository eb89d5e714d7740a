-- Search at scale (issue 13). The GIN index takes the filters a search combines with its words
-- (kind, framework, host, session as `k:`/`f:`/`h:`/`s:` entries of a second column), so a
-- selective filter narrows the matches inside the index instead of on millions of rows
-- (agentmon.store.search: FACETS must stay this expression). `id` was never read here (SQLite's
-- FTS5 needs its rowid, PostgreSQL keys documents by doc_key): its index and sequence went
-- with every written document, so they go.
SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX search_docs_match ON search_docs USING GIN (
  words,
  (ARRAY['k:' || kind, 'f:' || coalesce(framework, ''), 'h:' || coalesce(host, ''),
         's:' || coalesce(session_id, '')])
);
DROP INDEX search_docs_words;
-- A host's documents newest first: the first look at a host-filtered search reads that host's
-- newest documents (hosts are many, so the newest documents of all hold few of one host's).
CREATE INDEX search_docs_host_ts ON search_docs (host, ts DESC, doc_key DESC);
-- Errors newest first, likewise (they are a small share of the documents; only they are in it).
CREATE INDEX search_docs_errors_ts ON search_docs (ts DESC, doc_key DESC) WHERE kind = 'error';
ALTER TABLE search_docs DROP COLUMN id;
ANALYZE search_docs;
