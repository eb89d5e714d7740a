// A collapsible JSON viewer. Every value is rendered as text (never as HTML); long strings
// are cut and can be expanded.
import { html, useState } from "../lib.js";

const LONG = 240;

function LongString({ value }) {
  const [open, setOpen] = useState(false);
  if (value.length <= LONG) return html`<span class="j-str">${JSON.stringify(value)}</span>`;
  return html`<span class="j-str">${JSON.stringify(open ? value : value.slice(0, LONG))}${open ? "" : "…"}</span>
    <button type="button" class="link-button j-more" onClick=${() => setOpen(!open)}>
      ${open ? "show less" : `show all ${value.length.toLocaleString()} chars`}
    </button>`;
}

function Value({ value, depth }) {
  if (value === null) return html`<span class="j-null">null</span>`;
  if (typeof value === "string") return html`<${LongString} value=${value} />`;
  if (typeof value === "number") return html`<span class="j-num">${String(value)}</span>`;
  if (typeof value === "boolean") return html`<span class="j-bool">${String(value)}</span>`;
  if (Array.isArray(value) || typeof value === "object") return html`<${Container} value=${value} depth=${depth} />`;
  return html`<span>${String(value)}</span>`;
}

function Container({ value, depth }) {
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  const [open, setOpen] = useState(depth < 2);
  const brackets = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) return html`<span class="j-punct">${brackets.join("")}</span>`;
  const summary = isArray ? `${entries.length} items` : `${entries.length} keys`;
  return html`<span class="j-container">
    <button type="button" class="j-toggle" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      ${open ? "▾" : "▸"} ${brackets[0]}${open ? "" : ` ${summary} ${brackets[1]}`}
    </button>
    ${open && html`<ul class="j-entries">
      ${entries.map(([key, v]) => html`<li key=${key}>
        ${!isArray && html`<span class="j-key">${JSON.stringify(String(key))}</span><span class="j-punct">: </span>`}
        <${Value} value=${v} depth=${depth + 1} />
      </li>`)}
    </ul><span class="j-punct">${brackets[1]}</span>`}
  </span>`;
}

/** Render `value` (any JSON value) as a collapsible tree. */
export function JsonView({ value, label }) {
  return html`<div class="json" aria-label=${label || null}>
    <${Value} value=${value === undefined ? null : value} depth=${0} />
  </div>`;
}
