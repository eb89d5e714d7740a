// Status badges for sessions, runs and spans, and the notes for loading, empty and error states.
import { html } from "../lib.js";

// The API's status words (sessions: active, idle, waiting, ended, error; runs and spans: ok,
// error, running, cancelled) as the UI says them, the same word on every view.
const LABELS = {
  waiting: "waiting for a human",
  error: "failed",
};

export function statusLabel(status) {
  const value = status || "unknown";
  return LABELS[value] || value;
}

/** A coloured badge; `status` is any session, run or span status. */
export function StatusBadge({ status, title }) {
  const value = status || "unknown";
  return html`<span class=${`badge badge-${value}`} title=${title || null}>${statusLabel(value)}</span>`;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="note loading" role="status">${what}…</p>`;
}

export function Empty({ children }) {
  return html`<div class="note empty">${children}</div>`;
}

/** How agents start reporting, for a view that has nothing yet (the commands of the README). */
export function SetupHint() {
  const names = ["codex", "gemini-cli", "hermes", "openclaw"];
  return html`<p class="setup-hint small">On the machine an agent runs on:${" "}
    <code>agentmon hooks install claude-code</code>${" "}(or${" "}
    ${names.map((name, i) => html`${i ? ", " : ""}<code key=${name}>${name}</code>`)};${" "}
    <code>--ingest-url</code> and <code>--key</code> for another machine), the Python SDK, or any
    OpenTelemetry exporter on port 4318.</p>`;
}

/** An inline error with a retry button. */
export function ErrorNote({ error, onRetry }) {
  const message = error?.status === 0
    ? "The query API cannot be reached; this retries by itself."
    : `Could not load: ${error?.message || error}`;
  return html`<div class="note error" role="alert">
    <span>${message}</span>
    ${onRetry && html` <button type="button" class="link-button" onClick=${onRetry}>Retry</button>`}
  </div>`;
}

/**
 * What a fetch state shows: loading (first load only), an error without data, or the
 * content rendered by `children(data)`.
 */
export function Loaded({ state, what, children }) {
  if (state.data === null && state.error) {
    return html`<${ErrorNote} error=${state.error} onRetry=${state.reload} />`;
  }
  if (state.data === null) return html`<${Loading} what=${what} />`;
  return children(state.data);
}
