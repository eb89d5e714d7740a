// Sessions: a filterable table (filters and sort live in the URL), sorted by the server,
// cursor paging with "load more", and live updates (new sessions appear, statuses change).
import { html, useCallback, useEffect, useRef, useState } from "../lib.js";
import { getJSON, onResync, withQuery } from "../api.js";
import { usePageTitle, useFetch, useTick } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { Link, navigate, useQueryParams } from "../router.js";
import {
  costTitle, formatAgo, formatCompact, formatCostOf, formatDateTime, formatDuration, formatInt, formatShortDateTime,
  isoToLocalInput, localInputToIso, oneLine,
} from "../format.js";
import { Empty, ErrorNote, Loading, StatusBadge, statusLabel } from "../components/status.js";

const STATUSES = ["active", "waiting", "stuck", "looping", "lost", "error", "idle", "ended"];
const FILTERS = ["from", "to", "framework", "host", "status", "tool", "model", "project"];
// Filters typed as text (no list of values to pick from), shown as removable chips when set.
const TEXT_FILTERS = [["tool", "Tool", "called this tool"], ["model", "Model", "called this model"], ["project", "Project", "ran in this directory"]];
// Filters the URL may repeat, any value matching: the Costs page links one model by all its names.
const REPEATABLE = ["model"];
const PAGE = 50;
const MAX_PAGE = 500;
// Columns: [label, kind, the server's sort key (sortable columns only), header title].
const COLUMNS = [
  ["status"],
  ["session"],
  ["framework"],
  ["host"],
  ["started", null, "started"],
  ["duration", "num"],
  ["runs · tools · errors", "num", "errors", "runs · tool calls · errors (sorts by errors)"],
  ["tokens", "num", "tokens"],
  ["cost", "num", "cost"],
  ["last event", null, "last_event"],
];
const SORTS = COLUMNS.map((c) => c[2]).filter(Boolean);
const DEFAULT_SORT = "started";

function SortHeader({ column: [label, kind, key, title], sort, dir, setQuery }) {
  if (!key) return html`<th class=${kind || null}>${label}</th>`;
  const active = sort === key;
  const next = active && dir === "desc" ? "asc" : "desc";
  const change = () => setQuery({ sort: key, dir: next }, { replace: true });
  return html`<th class=${kind || null} aria-sort=${active ? (dir === "asc" ? "ascending" : "descending") : null} title=${title || null}>
    <button type="button" class="sort-button" onClick=${change}>
      ${label}<span class="sort-mark" aria-hidden="true">${active ? (dir === "asc" ? " ▲" : " ▼") : ""}</span></button></th>`;
}

/** Each filter's value: a string, or for a repeated one a list of them. */
function filtersFrom(query) {
  return Object.fromEntries(FILTERS.map((key) => {
    const values = REPEATABLE.includes(key) ? query.getAll(key).filter(Boolean) : [query.get(key) || ""];
    return [key, values.length > 1 ? values : values[0] || ""];
  }));
}

/** A filter's value as words: several read "a or b". */
const shown = (value) => (Array.isArray(value) ? value.join(" or ") : value);

/** The server's order from the URL; a sort it does not know (an old link) is the default. */
function orderFrom(query) {
  const sort = SORTS.includes(query.get("sort")) ? query.get("sort") : DEFAULT_SORT;
  return { sort, dir: query.get("dir") === "asc" ? "asc" : "desc" };
}

/** The loaded rows of the current filter, with paging and refresh. */
function useSessionPages(filters, order) {
  const [state, setState] = useState({ rows: null, cursor: null, error: null, loading: true, more: false });
  const key = JSON.stringify({ ...filters, ...order });
  const seq = useRef(0);
  const rowsRef = useRef(null);
  rowsRef.current = state.rows;

  const fetchFirst = useCallback(async (limit) => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await getJSON(withQuery("/v1/sessions", { ...JSON.parse(key), limit }));
      if (mine === seq.current) {
        setState({ rows: data.sessions, cursor: data.next_cursor, total: data.total, capped: data.total_capped, error: null, loading: false, more: false });
      }
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ ...s, error, loading: false, more: false }));
    }
  }, [key]);

  useEffect(() => {
    setState({ rows: null, cursor: null, error: null, loading: true, more: false });
    fetchFirst(PAGE);
  }, [fetchFirst]);

  // A refresh refetches as many rows as are on screen, so nothing shifts out of view.
  const refresh = useCallback(() => {
    const shown = rowsRef.current ? rowsRef.current.length : 0;
    fetchFirst(Math.min(Math.max(shown, PAGE), MAX_PAGE));
  }, [fetchFirst]);

  useEffect(() => onResync(refresh), [refresh]);

  const loadMore = async () => {
    const mine = seq.current;
    setState((s) => ({ ...s, more: true }));
    try {
      const data = await getJSON(withQuery("/v1/sessions", { ...JSON.parse(key), limit: PAGE, cursor: state.cursor }));
      if (mine !== seq.current) return;
      setState((s) => {
        const known = new Set(s.rows.map((r) => r.session_id));
        const rows = [...s.rows, ...data.sessions.filter((r) => !known.has(r.session_id))];
        return { ...s, rows, cursor: data.next_cursor, more: false, error: null };
      });
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ ...s, error, more: false }));
    }
  };

  return { ...state, refresh, loadMore };
}

/** A typed filter keeps what is being typed as its own state: a re-render (the clock, a live
 * update) must not reset the field to the URL's value before Enter or leaving it commits. */
function TextFilter({ name, label, hint, value, commit }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return html`<label>${label}
    <input type="search" name=${name} value=${draft} placeholder=${hint}
      onInput=${(e) => setDraft(e.currentTarget.value)} onChange=${(e) => commit(e.currentTarget.value)} /></label>`;
}

function Filters({ filters, setQuery, facets }) {
  const set = (key) => (event) => setQuery({ [key]: event.currentTarget.value });
  const setTime = (key) => (event) => setQuery({ [key]: localInputToIso(event.currentTarget.value) });
  const active = FILTERS.some((k) => filters[k]);
  const options = (values) => values.map((v) => html`<option key=${v} value=${v}>${v}</option>`);
  return html`<form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filter sessions">
    <label>From <input type="datetime-local" name="from" value=${isoToLocalInput(filters.from)} onChange=${setTime("from")} /></label>
    <label>To <input type="datetime-local" name="to" value=${isoToLocalInput(filters.to)} onChange=${setTime("to")} /></label>
    <label>Framework
      <select name="framework" value=${filters.framework} onChange=${set("framework")}>
        <option value="">all</option>
        ${options(facets.frameworks.includes(filters.framework) || !filters.framework ? facets.frameworks : [...facets.frameworks, filters.framework])}
      </select>
    </label>
    <label>Host
      <select name="host" value=${filters.host} onChange=${set("host")}>
        <option value="">all</option>
        ${options(facets.hosts.includes(filters.host) || !filters.host ? facets.hosts : [...facets.hosts, filters.host])}
      </select>
    </label>
    <label>Status
      <select name="status" value=${filters.status} onChange=${set("status")}>
        <option value="">all</option>
        ${STATUSES.map((s) => html`<option key=${s} value=${s}>${statusLabel(s)}</option>`)}
      </select>
    </label>
    ${TEXT_FILTERS.map(([key, label, hint]) => html`<${TextFilter} key=${key} name=${key} label=${label} hint=${hint}
      value=${shown(filters[key])} commit=${(value) => setQuery({ [key]: value })} />`)}
    ${active && html`<button type="button" class="link-button" onClick=${() => setQuery(Object.fromEntries(FILTERS.map((k) => [k, null])))}>Clear filters</button>`}
  </form>`;
}

/** The text filters in force, each a chip that removes itself. */
function FilterChips({ filters, setQuery }) {
  const set = TEXT_FILTERS.filter(([key]) => filters[key]);
  if (set.length === 0) return null;
  return html`<ul class="filter-chips" aria-label="Filters in force">${set.map(([key, label]) => html`<li key=${key} class="filter-chip">
    <span class="muted">${label}</span> <span class="mono">${shown(filters[key])}</span>
    <button type="button" class="chip-remove" aria-label=${`Remove the ${label.toLowerCase()} filter`}
      onClick=${() => setQuery({ [key]: null })}>×</button></li>`)}</ul>`;
}

function SessionRow({ session: s, now }) {
  const href = `/sessions/${encodeURIComponent(s.session_id)}`;
  const open = (event) => {
    if (event.target.closest("a")) return;
    navigate(href);
  };
  return html`<tr class=${`row-link status-${s.status}`} onClick=${open}>
    <td class="status-cell"><${StatusBadge} status=${s.status} title=${s.waiting_reason || s.end_reason || null} /></td>
    <td class="session-cell">
      <${Link} href=${href}>${oneLine(s.title, 80) || html`<span class="muted">untitled</span>`}<//>
      ${s.status === "waiting" && s.waiting_message && html`<span class="session-question">${oneLine(s.waiting_message, 120)}</span>`}
      <span class="muted mono small">${s.session_id}</span>
    </td>
    <td data-label="framework">${s.framework}</td>
    <td data-label="host">${s.host || "—"}</td>
    <td data-label="started"><time datetime=${s.started_at} title=${`${formatDateTime(s.started_at)} (${formatAgo(s.started_at, now)})`}>${formatShortDateTime(s.started_at)}</time></td>
    <td class="num" data-label="duration">${formatDuration(s.duration_ms)}</td>
    <td class="num counts-cell" data-label="runs · tools · errors" title=${`${s.run_count} runs, ${s.tool_count} tool calls, ${s.error_count} errors`}>
      ${formatInt(s.run_count)} · ${formatInt(s.tool_count)} · <span class=${s.error_count ? "bad-text" : "muted"}>${formatInt(s.error_count)}</span>
    </td>
    <td class="num" data-label="tokens">${formatCompact(s.tokens?.total ?? 0)}</td>
    <td class="num" data-label="cost" title=${costTitle(s.cost_source)}>${formatCostOf(s.cost_usd, s.cost_source)}</td>
    <td data-label="last event">${formatAgo(s.last_event_at, now)}</td>
  </tr>`;
}

export function SessionsView() {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const filters = filtersFrom(query);
  const facetsState = useFetch("/v1/facets");
  const facets = facetsState.data || { frameworks: [], hosts: [] };
  const order = orderFrom(query);
  const pages = useSessionPages(filters, order);
  const named = [filters.status && statusLabel(filters.status), filters.framework, filters.host, filters.tool, shown(filters.model), filters.project].filter(Boolean);
  usePageTitle(named.length ? `Sessions: ${named.join(", ")}` : null);
  useLiveRefresh((e) => ev.session(e) !== null, pages.refresh, 1000);
  useLiveRefresh((e) => ev.type(e) === "session.start", facetsState.reload, 3000);

  let body;
  if (pages.rows === null && pages.error) body = html`<${ErrorNote} error=${pages.error} onRetry=${pages.refresh} />`;
  else if (pages.rows === null) body = html`<${Loading} what="Loading sessions" />`;
  else if (pages.rows.length === 0) {
    body = html`<${Empty}>${FILTERS.some((k) => filters[k])
      ? "No session matches these filters."
      : "No sessions yet. Sessions appear here live as soon as an agent sends its first event."}<//>`;
  } else {
    body = html`<div class="table-scroll"><table class="table sessions-table">
      <thead><tr>${COLUMNS.map((c) => html`<${SortHeader} key=${c[0]} column=${c} sort=${order.sort} dir=${order.dir} setQuery=${setQuery} />`)}</tr></thead>
      <tbody>${pages.rows.map((s) => html`<${SessionRow} key=${s.session_id} session=${s} now=${now} />`)}</tbody>
    </table></div>
    ${pages.error && html`<${ErrorNote} error=${pages.error} onRetry=${pages.refresh} />`}
    <div class="paging">
      <span class="muted session-total">${pages.rows.length}${pages.total != null && pages.total > pages.rows.length ? ` of ${pages.total.toLocaleString()}${pages.capped ? "+" : ""}` : ""} session${(pages.total ?? pages.rows.length) === 1 ? "" : "s"} shown</span>
      ${pages.cursor
        ? html`<button type="button" onClick=${pages.loadMore} disabled=${pages.more}>${pages.more ? "Loading…" : "Load more"}</button>`
        : html`<span class="muted">That is all.</span>`}
    </div>`;
  }

  return html`<div class="view sessions">
    <header class="view-head"><h1>Sessions</h1>
      <span class="downloads">Download
        <a href=${withQuery("/v1/sessions/export", { ...filters, format: "csv" })} download="sessions.csv">CSV</a>
        <a href=${withQuery("/v1/sessions/export", { ...filters, format: "jsonl" })} download="sessions.jsonl">JSONL</a>
      </span>
    </header>
    <${Filters} filters=${filters} setQuery=${setQuery} facets=${facets} />
    <${FilterChips} filters=${filters} setQuery=${setQuery} />
    ${body}
  </div>`;
}
