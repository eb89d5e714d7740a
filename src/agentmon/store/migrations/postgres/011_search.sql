-- Full-text search (issue 13): one document per searchable field (a run's prompt, answer or
-- error, a tool call's name and input, its output, an error message), written with the read
-- models in the same transaction (agentmon.store.search). `words` is the text's tsvector with
-- every run of letters and digits a word, as SQLite's unicode61 tokenizer splits it, so both
-- stores find the same; paths and commands (config/prod.yaml, rm -rf) are matched as word
-- sequences and then checked as substrings of `text`.
CREATE TABLE search_docs (
  id BIGSERIAL PRIMARY KEY,
  doc_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL, ts BIGINT NOT NULL,
  session_id TEXT, run_id TEXT, span_id TEXT, framework TEXT, host TEXT, tool TEXT,
  text TEXT NOT NULL,
  words tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, regexp_replace(text, '[^[:alnum:]]+', ' ', 'g'))
  ) STORED
);
CREATE INDEX search_docs_ts ON search_docs (ts DESC, doc_key DESC);
CREATE INDEX search_docs_words ON search_docs USING GIN (words);
-- What was stored before is indexed from the read models' text (JSON as stored, 8 KiB a field).
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
  SELECT 'run:' || run_id || ':prompt', 'prompt', coalesce(started_at, first_ts), session_id, run_id, framework, host, left(input, 8192)
  FROM runs WHERE input IS NOT NULL AND input <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
  SELECT 'run:' || run_id || ':answer', 'answer', coalesce(ended_at, last_ts), session_id, run_id, framework, host, left(output, 8192)
  FROM runs WHERE output IS NOT NULL AND output <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
  SELECT 'run:' || run_id || ':error', 'error', coalesce(ended_at, last_ts), session_id, run_id, framework, host, left(error, 8192)
  FROM runs WHERE error IS NOT NULL AND error <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool, text)
  SELECT 'span:' || sp.span_id || ':call', 'tool', coalesce(sp.started_at, sp.first_ts), sp.session_id, sp.run_id, sp.span_id, sp.framework, s.host, sp.name,
         left(coalesce(sp.name, '') || ' ' || coalesce(sp.input, ''), 8192)
  FROM spans sp LEFT JOIN sessions s ON s.session_id = sp.session_id WHERE sp.kind = 'tool';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool, text)
  SELECT 'span:' || sp.span_id || ':output', 'tool', coalesce(sp.ended_at, sp.first_ts), sp.session_id, sp.run_id, sp.span_id, sp.framework, s.host, sp.name, left(sp.output, 8192)
  FROM spans sp LEFT JOIN sessions s ON s.session_id = sp.session_id WHERE sp.kind = 'tool' AND sp.output IS NOT NULL AND sp.output <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool, text)
  SELECT 'span:' || sp.span_id || ':error', 'error', coalesce(sp.ended_at, sp.first_ts), sp.session_id, sp.run_id, sp.span_id, sp.framework, s.host, sp.name, left(sp.error, 8192)
  FROM spans sp LEFT JOIN sessions s ON s.session_id = sp.session_id WHERE sp.error IS NOT NULL AND sp.error <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, text)
  SELECT 'error:' || event_id, 'error', ts, session_id, run_id, span_id, framework, host, left(message, 8192)
  FROM errors WHERE span_id IS NULL AND message IS NOT NULL AND message <> '';
