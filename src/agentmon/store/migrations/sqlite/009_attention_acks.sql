-- Acknowledged attention items (a session waiting, stuck, looping, lost or failed): who
-- acknowledged it, when, and which occurrence, so the item returns when the thing happens again.
CREATE TABLE attention_acks (
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    occurred_ms BIGINT NOT NULL,
    acked_by TEXT NOT NULL,
    acked_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, item_id)
);

-- Which stuck, looping or lost alert was sent, and when: every event processor polls for
-- them, and the one that claims the row first (or after the cooldown) sends it.
CREATE TABLE alert_claims (
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    claimed_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, item_id)
);

-- The latest calls of one tool, for its p50/p95 latency in /v1/stats/tools.
CREATE INDEX spans_tool_latency ON spans (name, first_ts) WHERE kind = 'tool';
