// A cost as the API gives it (`cost_usd` and `cost_source`): "not priced" or "—" where no
// price is known, and an estimate's qualifier ("est.", "part est.") set small beside a large
// total so that it never wraps under the figure.
import { html } from "../lib.js";
import { costTitle, formatCost, formatCostOf } from "../format.js";

const QUALIFIERS = { estimated: "est.", mixed: "part est." };

/** A cost inline, with its source in the tooltip; an unpriced total is a warning. */
export function Cost({ of }) {
  const text = formatCostOf(of.cost_usd, of.cost_source);
  const cls = of.cost_usd === null && of.cost_source ? "cost warn-text" : "cost";
  return html`<span class=${cls} title=${costTitle(of.cost_source)}>${text}</span>`;
}

/** A total cost, large, with its qualifier small beside it. */
export function SpendValue({ of }) {
  const qualifier = of.cost_usd === null ? null : QUALIFIERS[of.cost_source];
  if (!qualifier) return html`<${Cost} of=${of} />`;
  return html`<span class="cost" title=${costTitle(of.cost_source)}>≈${formatCost(of.cost_usd)}
    <span class="cost-qualifier">${qualifier}</span></span>`;
}
