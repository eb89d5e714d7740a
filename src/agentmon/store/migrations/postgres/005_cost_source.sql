-- Where each cost came from (issue 12): per table, how many calls had a reported cost, an
-- estimated one, or none; cost_usd sums only the priced ones. An llm span keeps its own cost.
ALTER TABLE sessions ADD COLUMN reported_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN estimated_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN unpriced_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN reported_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN estimated_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN unpriced_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE model_usage ADD COLUMN reported_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE model_usage ADD COLUMN estimated_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE model_usage ADD COLUMN unpriced_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_minute ADD COLUMN reported_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_minute ADD COLUMN estimated_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_minute ADD COLUMN unpriced_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN reported_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN estimated_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN unpriced_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE spans ADD COLUMN cost_usd DOUBLE PRECISION;
ALTER TABLE spans ADD COLUMN cost_source TEXT;
-- Rows written before: a cost was the tool's own (reported); tokens without one were not priced.
-- Per-model rows know their calls; runs and rollups count one call per row (an approximation
-- that only says which kind of cost they hold). `agentmon reprice` estimates the unpriced ones.
UPDATE model_usage SET reported_calls = calls WHERE cost_usd > 0;
UPDATE model_usage SET unpriced_calls = calls WHERE cost_usd = 0 AND calls > 0;
UPDATE sessions SET
  reported_calls = coalesce((SELECT sum(m.reported_calls) FROM model_usage m WHERE m.session_id = sessions.session_id), 0),
  unpriced_calls = coalesce((SELECT sum(m.unpriced_calls) FROM model_usage m WHERE m.session_id = sessions.session_id), 0);
UPDATE runs SET reported_calls = 1 WHERE cost_usd > 0;
UPDATE runs SET unpriced_calls = 1 WHERE cost_usd = 0 AND total_tokens > 0;
UPDATE rollup_minute SET reported_calls = 1 WHERE cost_usd > 0;
UPDATE rollup_minute SET unpriced_calls = 1 WHERE cost_usd = 0 AND total_tokens > 0;
UPDATE rollup_hour SET reported_calls = 1 WHERE cost_usd > 0;
UPDATE rollup_hour SET unpriced_calls = 1 WHERE cost_usd = 0 AND total_tokens > 0;
