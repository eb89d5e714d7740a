-- The frameworks and hosts the filters offer, kept at write time: DISTINCT over every
-- session took ~80 ms at 10M events.
CREATE TABLE facets (kind TEXT NOT NULL, value TEXT NOT NULL, last_ts INTEGER, PRIMARY KEY (kind, value));
INSERT INTO facets (kind, value, last_ts)
  SELECT 'framework', framework, max(last_ts) FROM sessions WHERE framework IS NOT NULL GROUP BY framework;
INSERT INTO facets (kind, value, last_ts)
  SELECT 'host', host, max(last_ts) FROM sessions WHERE host IS NOT NULL GROUP BY host;
