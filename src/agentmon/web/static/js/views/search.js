// Search: prompts, answers, tool calls and their output, and error messages by their text.
// The query and filters live in the URL (?q=…&kind=…); each hit shows where the words
// matched and opens its session with the run and span selected.
import { html, useEffect, useState } from "../lib.js";
import { getJSON, withQuery } from "../api.js";
import { useFetch, usePageTitle, useTick } from "../hooks.js";
import { Link, useQueryParams } from "../router.js";
import { formatAgo, formatDateTime, isoToLocalInput, localInputToIso, oneLine } from "../format.js";
import { Empty, ErrorNote, Loading } from "../components/status.js";

const FILTERS = ["kind", "framework", "host", "from", "to"];
const KINDS = [["", "everything"], ["prompt", "prompts"], ["answer", "answers"], ["tool", "tool calls"], ["error", "errors"]];
const KIND_LABEL = { prompt: "prompt", answer: "answer", tool: "tool call", error: "error" };
const FIELD_LABEL = { call: "input", output: "output" };
const EXAMPLES = ["rm -rf", "config/prod.yaml", '"permission denied"'];
const PLACEHOLDER = `${EXAMPLES.join(", ")}…`;
const PAGE = 20;
// what the API can search: a letter or a digit somewhere (it refuses the rest with a 400)
const SEARCHABLE = /[\p{L}\p{N}]/u;

/** Where a hit is: its session with the run opened and the span selected. */
export function hitHref(hit) {
  if (!hit.session_id) return null;
  const query = new URLSearchParams();
  if (hit.run_id) query.set("run", hit.run_id);
  if (hit.run_id && hit.span_id) query.set("span", hit.span_id);
  const text = query.toString();
  return `/sessions/${encodeURIComponent(hit.session_id)}${text ? `?${text}` : ""}`;
}

function Snippet({ parts }) {
  return html`<p class="search-snippet mono">${parts.map((part, i) => part.match
    ? html`<mark key=${i}>${part.text}</mark>`
    : part.text)}</p>`;
}

function Hit({ hit, now }) {
  const href = hitHref(hit);
  const where = [hit.framework, hit.host].filter(Boolean).join(" · ");
  const what = hit.kind === "tool"
    ? `${hit.tool || "tool"} ${FIELD_LABEL[hit.field] || ""}`.trim()
    : hit.tool ? `${KIND_LABEL[hit.kind]} in ${hit.tool}` : KIND_LABEL[hit.kind];
  return html`<li class=${`search-hit kind-${hit.kind}`}>
    <div class="search-hit-head">
      <span class=${`badge search-kind search-kind-${hit.kind}`}>${KIND_LABEL[hit.kind]}</span>
      ${href
        ? html`<${Link} href=${href} class="search-hit-link">${what}<//>`
        : html`<span class="search-hit-link">${what}</span>`}
      <span class="muted small">${where}</span>
      <time class="muted small" datetime=${hit.ts} title=${formatDateTime(hit.ts)}>${formatAgo(hit.ts, now)}</time>
    </div>
    ${hit.session_title && html`<div class="search-hit-session small" title=${hit.session_title}>
      in session “${oneLine(hit.session_title, 120)}”</div>`}
    <${Snippet} parts=${hit.snippet} />
  </li>`;
}

/** The pages of one search: the first from the URL's query, more on request. */
function useSearchPages(params) {
  const key = JSON.stringify(params);
  const first = useFetch(SEARCHABLE.test(params.q) ? withQuery("/v1/search", { ...params, limit: PAGE }) : null);
  const [extra, setExtra] = useState({ hits: [], cursor: undefined, loading: false, error: null });
  useEffect(() => setExtra({ hits: [], cursor: undefined, loading: false, error: null }), [key, first.data]);
  const cursor = extra.cursor === undefined ? first.data?.next_cursor : extra.cursor;
  const loadMore = async () => {
    setExtra((s) => ({ ...s, loading: true }));
    try {
      const data = await getJSON(withQuery("/v1/search", { ...params, limit: PAGE, cursor }));
      setExtra((s) => ({ hits: [...s.hits, ...data.hits], cursor: data.next_cursor, loading: false, error: null }));
    } catch (error) {
      setExtra((s) => ({ ...s, loading: false, error }));
    }
  };
  const hits = first.data ? [...first.data.hits, ...extra.hits] : null;
  return { first, hits, cursor, loadMore, extra };
}

function SearchForm({ params, setQuery, facets }) {
  const [text, setText] = useState(params.q);
  useEffect(() => setText(params.q), [params.q]);
  const set = (key) => (event) => setQuery({ [key]: event.currentTarget.value }, { replace: true });
  const setTime = (key) => (event) => setQuery({ [key]: localInputToIso(event.currentTarget.value) }, { replace: true });
  const submit = (event) => {
    event.preventDefault();
    setQuery({ q: text.trim() });
  };
  const options = (values, current) => (current && !values.includes(current) ? [...values, current] : values)
    .map((v) => html`<option key=${v} value=${v}>${v}</option>`);
  const filtered = FILTERS.some((k) => params[k]);
  return html`<form class="search-form" role="search" onSubmit=${submit}>
    <div class="search-box">
      <label class="visually-hidden" for="search-q">Search prompts, answers, tool calls and errors</label>
      <input id="search-q" type="search" name="q" value=${text} autofocus autocomplete="off" spellcheck="false"
        placeholder=${PLACEHOLDER} maxlength="500"
        onInput=${(e) => setText(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </div>
    <div class="filters">
      <label>Search in <select name="kind" value=${params.kind} onChange=${set("kind")}>
        ${KINDS.map(([value, label]) => html`<option key=${value} value=${value}>${label}</option>`)}
      </select></label>
      <label>Framework <select name="framework" value=${params.framework} onChange=${set("framework")}>
        <option value="">all</option>${options(facets.frameworks, params.framework)}
      </select></label>
      <label>Host <select name="host" value=${params.host} onChange=${set("host")}>
        <option value="">all</option>${options(facets.hosts, params.host)}
      </select></label>
      <label>From <input type="datetime-local" name="from" value=${isoToLocalInput(params.from)} onChange=${setTime("from")} /></label>
      <label>To <input type="datetime-local" name="to" value=${isoToLocalInput(params.to)} onChange=${setTime("to")} /></label>
      ${filtered && html`<button type="button" class="link-button"
        onClick=${() => setQuery(Object.fromEntries(FILTERS.map((k) => [k, null])), { replace: true })}>Clear filters</button>`}
    </div>
  </form>`;
}

function Examples({ setQuery }) {
  return html`<${Empty}>
    <p>Find the session where an agent ran a command, touched a file or hit an error: words,
      paths and commands match as typed, <span class="mono">"quoted words"</span> as a phrase.</p>
    <p>Try ${EXAMPLES.map((q, i) => html`${i ? ", " : ""}<button type="button" class="link-button mono"
      onClick=${() => setQuery({ q })}>${q}</button>`)}.</p>
  <//>`;
}

export function SearchView() {
  const now = useTick(30000);
  const [query, setQuery] = useQueryParams();
  const params = { q: query.get("q") || "", ...Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || ""])) };
  const facetsState = useFetch("/v1/facets");
  const facets = facetsState.data || { frameworks: [], hosts: [] };
  const pages = useSearchPages(params);
  usePageTitle(params.q ? `Search: ${params.q}` : null);

  let body;
  if (!params.q.trim()) body = html`<${Examples} setQuery=${setQuery} />`;
  else if (!SEARCHABLE.test(params.q)) {
    body = html`<div class="note" role="alert"><span class="mono">${params.q}</span> has no letters or digits to search for.</div>`;
  } else if (pages.first.error?.status === 400) {
    body = html`<div class="note" role="alert">This search cannot be run: ${pages.first.error.message}</div>`;
  } else if (pages.first.error && !pages.hits) body = html`<${ErrorNote} error=${pages.first.error} onRetry=${pages.first.reload} />`;
  else if (!pages.hits) body = html`<${Loading} what="Searching" />`;
  else if (pages.hits.length === 0) {
    body = html`<${Empty}>Nothing matches <span class="mono">${params.q}</span>${FILTERS.some((k) => params[k]) ? " with these filters" : ""}.<//>`;
  } else {
    body = html`<ol class="search-hits" aria-label="Matches, newest first">
      ${pages.hits.map((hit, i) => html`<${Hit} key=${i} hit=${hit} now=${now} />`)}
    </ol>
    ${pages.extra.error && html`<${ErrorNote} error=${pages.extra.error} onRetry=${pages.loadMore} />`}
    <div class="paging">
      <span class="muted">${pages.hits.length} match${pages.hits.length === 1 ? "" : "es"} shown, newest first</span>
      ${pages.cursor
        ? html`<button type="button" onClick=${pages.loadMore} disabled=${pages.extra.loading}>${pages.extra.loading ? "Loading…" : "Load more"}</button>`
        : html`<span class="muted">That is all.</span>`}
    </div>`;
  }
  return html`<div class="view search">
    <header class="view-head"><h1>Search</h1></header>
    <${SearchForm} params=${params} setQuery=${setQuery} facets=${facets} />
    ${body}
  </div>`;
}
