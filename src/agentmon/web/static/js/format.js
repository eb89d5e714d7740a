// Formatting of times, durations, counts, money and sizes, in the viewer's locale and zone.

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const shortDateTime = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

export function parseTs(ts) {
  if (!ts) return null;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? null : ms;
}

/** "24 Nov 2026, 03:12:09" in the viewer's time zone. */
export function formatDateTime(ts) {
  const ms = parseTs(ts);
  return ms === null ? "—" : dateTime.format(ms);
}

/** "Nov 24, 03:12": for tables. */
export function formatShortDateTime(ts) {
  const ms = parseTs(ts);
  return ms === null ? "—" : shortDateTime.format(ms);
}

/** The time of day for today's moments, with the date for older ones. */
export function formatTime(ts) {
  const ms = parseTs(ts);
  if (ms === null) return "—";
  const today = new Date().toDateString() === new Date(ms).toDateString();
  return today ? timeOnly.format(ms) : shortDateTime.format(ms);
}

/** "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago" (or "in …" for the future). */
export function formatAgo(ts, now = Date.now()) {
  const ms = typeof ts === "number" ? ts : parseTs(ts);
  if (ms === null) return "—";
  return formatAge((now - ms) / 1000);
}

/** An age given in seconds, as formatAgo words it. */
export function formatAge(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const future = seconds < 0;
  const s = Math.abs(seconds);
  let text;
  if (s < 5) return "just now";
  if (s < 60) text = `${Math.floor(s)} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86400) text = `${Math.floor(s / 3600)} h`;
  else text = `${Math.floor(s / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

/** Milliseconds as "850 ms", "12.4 s", "3 min 5 s", "2 h 4 min". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const join = (big, bigUnit, small, smallUnit) =>
    small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
  const m = Math.floor(s / 60);
  if (m < 60) return join(m, "min", Math.floor(s % 60), "s");
  const h = Math.floor(m / 60);
  if (h < 48) return join(h, "h", m % 60, "min");
  return join(Math.floor(h / 24), "d", h % 24, "h");
}

export function formatInt(n) {
  return n === null || n === undefined ? "—" : integer.format(n);
}

/** "1 event", "3 events" (counts as formatCompact words them). */
export function plural(n, word, words = `${word}s`) {
  return `${formatCompact(n)} ${n === 1 ? word : words}`;
}

export function formatCompact(n) {
  if (n === null || n === undefined) return "—";
  return Math.abs(n) < 1000 ? integer.format(n) : compact.format(n);
}

export function formatCost(usd) {
  if (usd === null || usd === undefined) return "—";
  if (usd === 0) return "$0";
  if (Math.abs(usd) < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

/**
 * A cost and where it came from (the API's `cost_usd` and `cost_source`): estimates read
 * "≈$0.42 est.", a total without any price "not priced", no model calls "—"; never "$0" for
 * a cost nobody reported.
 */
export function formatCostOf(usd, source) {
  if (usd === null || usd === undefined) return source === "none" || source === "mixed" ? "not priced" : "—";
  if (source === "estimated") return `≈${formatCost(usd)} est.`;
  if (source === "mixed") return `≈${formatCost(usd)} part est.`;
  return formatCost(usd);
}

/** What a cost is made of, for a tooltip. */
export function costTitle(source) {
  return {
    reported: "cost reported by the agent",
    estimated: "estimated from token counts and model prices",
    mixed: "partly reported, partly estimated or not priced",
    none: "no price known for this model: see docs/costs.md to add one",
  }[source] ?? null;
}

export function formatPct(pct) {
  if (pct === null || pct === undefined || Number.isNaN(pct)) return "—";
  return `${pct.toFixed(pct < 10 ? 1 : 0)} %`;
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined || Number.isNaN(bytes)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

export function formatRate(bytesPerSecond) {
  return bytesPerSecond === null || bytesPerSecond === undefined
    ? "—"
    : `${formatBytes(bytesPerSecond)}/s`;
}

/** One line of text from any value, cut to `max` characters. */
export function oneLine(value, max = 120) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A datetime-local input value (viewer's zone) ⇄ an ISO UTC timestamp. */
export function isoToLocalInput(iso) {
  const ms = parseTs(iso);
  if (ms === null) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function localInputToIso(value) {
  if (!value) return "";
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString();
}

/** The viewer's IANA time zone ("Europe/Paris"), which the API's `tz` takes; null if unknown. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}
