-- Full-text search (issue 13): one document per searchable field (a run's prompt, answer or
-- error, a tool call's name and input, its output, an error message), written with the read
-- models in the same transaction (agentmon.store.search). search_fts is an FTS5 index over
-- the documents' text, kept in step by the triggers below. Words are runs of letters and
-- digits (unicode61, accents kept), as in PostgreSQL's index, so both stores find the same.
CREATE TABLE search_docs (
  id INTEGER PRIMARY KEY,
  doc_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL, ts INTEGER NOT NULL,
  session_id TEXT, run_id TEXT, span_id TEXT, framework TEXT, host TEXT, tool TEXT,
  text TEXT NOT NULL
);
CREATE INDEX search_docs_ts ON search_docs (ts);
CREATE VIRTUAL TABLE search_fts USING fts5(
  text, content='search_docs', content_rowid='id', tokenize='unicode61 remove_diacritics 0'
);
CREATE TRIGGER search_docs_added AFTER INSERT ON search_docs BEGIN INSERT INTO search_fts (rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs BEGIN INSERT INTO search_fts (search_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
CREATE TRIGGER search_docs_changed AFTER UPDATE OF text ON search_docs WHEN old.text IS NOT new.text BEGIN INSERT INTO search_fts (search_fts, rowid, text) VALUES ('delete', old.id, old.text); INSERT INTO search_fts (rowid, text) VALUES (new.id, new.text); END;
-- What was stored before is indexed from the read models' text (JSON as stored, 8 KiB a field).
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
  SELECT 'run:' || run_id || ':prompt', 'prompt', coalesce(started_at, first_ts), session_id, run_id, framework, host, substr(input, 1, 8192)
  FROM runs WHERE input IS NOT NULL AND input <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
  SELECT 'run:' || run_id || ':answer', 'answer', coalesce(ended_at, last_ts), session_id, run_id, framework, host, substr(output, 1, 8192)
  FROM runs WHERE output IS NOT NULL AND output <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
  SELECT 'run:' || run_id || ':error', 'error', coalesce(ended_at, last_ts), session_id, run_id, framework, host, substr(error, 1, 8192)
  FROM runs WHERE error IS NOT NULL AND error <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool, text)
  SELECT 'span:' || sp.span_id || ':call', 'tool', coalesce(sp.started_at, sp.first_ts), sp.session_id, sp.run_id, sp.span_id, sp.framework, s.host, sp.name,
         substr(coalesce(sp.name, '') || ' ' || coalesce(sp.input, ''), 1, 8192)
  FROM spans sp LEFT JOIN sessions s ON s.session_id = sp.session_id WHERE sp.kind = 'tool';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool, text)
  SELECT 'span:' || sp.span_id || ':output', 'tool', coalesce(sp.ended_at, sp.first_ts), sp.session_id, sp.run_id, sp.span_id, sp.framework, s.host, sp.name, substr(sp.output, 1, 8192)
  FROM spans sp LEFT JOIN sessions s ON s.session_id = sp.session_id WHERE sp.kind = 'tool' AND sp.output IS NOT NULL AND sp.output <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool, text)
  SELECT 'span:' || sp.span_id || ':error', 'error', coalesce(sp.ended_at, sp.first_ts), sp.session_id, sp.run_id, sp.span_id, sp.framework, s.host, sp.name, substr(sp.error, 1, 8192)
  FROM spans sp LEFT JOIN sessions s ON s.session_id = sp.session_id WHERE sp.error IS NOT NULL AND sp.error <> '';
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, text)
  SELECT 'error:' || event_id, 'error', ts, session_id, run_id, span_id, framework, host, substr(message, 1, 8192)
  FROM errors WHERE span_id IS NULL AND message IS NOT NULL AND message <> ''
