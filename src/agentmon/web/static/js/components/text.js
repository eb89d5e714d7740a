// Agent-provided text (prompts, answers, error messages), shown as text with long values cut
// and expandable.
import { html, useState } from "../lib.js";

const LIMIT = 600;

export function ClampedText({ text, limit = LIMIT, className = "" }) {
  const [open, setOpen] = useState(false);
  if (text === null || text === undefined || text === "") return html`<span class="muted">—</span>`;
  const value = typeof text === "string" ? text : JSON.stringify(text, null, 2);
  const long = value.length > limit;
  return html`<div class=${`clamped ${className}`}>
    <pre class="text-block">${long && !open ? `${value.slice(0, limit)}…` : value}</pre>
    ${long && html`<button type="button" class="link-button" onClick=${() => setOpen(!open)}>
      ${open ? "show less" : `show all ${value.length.toLocaleString()} chars`}
    </button>`}
  </div>`;
}
