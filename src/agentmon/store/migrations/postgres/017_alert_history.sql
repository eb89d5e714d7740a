-- Every alert agentmon raised (docs/monitor.md, Alerts): what, about which session, VM or
-- budget, when, whether the webhook took it, and who acknowledged it. The processor that
-- claimed the alert (alert_claims or budget_alerts) writes the one row.
CREATE TABLE alert_history (
  id BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL, subject_type TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL,
  fired_ms BIGINT NOT NULL, delivery TEXT NOT NULL, delivered_ms BIGINT,
  acked_by TEXT, acked_ms BIGINT
);
CREATE INDEX alert_history_fired ON alert_history (fired_ms);
