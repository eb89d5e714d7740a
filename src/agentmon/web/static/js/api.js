// HTTP access to the query API, and the API's health as the UI sees it.
//
// A failed request (network error or 5xx) marks the API down: the app shows a banner and
// polls /healthz with backoff until it answers again, then announces a resync so every
// view refetches what it shows.
import { createStore } from "./store.js";

export const apiStatus = createStore({ down: false, message: "" });
const resyncListeners = new Set();

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Build a path with a query string from an object, leaving out empty values. */
export function withQuery(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, given] of Object.entries(params)) {
    for (const value of Array.isArray(given) ? given : [given]) {  // a list: the key repeated
      if (value !== undefined && value !== null && value !== "") query.append(key, String(value));
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export async function getJSON(path, { signal } = {}) {
  let response;
  try {
    response = await fetch(path, { signal, headers: { accept: "application/json" } });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    markDown("The query API cannot be reached.");
    throw new ApiError("The query API cannot be reached.", 0);
  }
  if (response.status >= 500) {
    markDown(`The query API answered ${response.status}.`);
  } else if (apiStatus.get().down) {
    markUp();
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
    throw new ApiError(message, response.status);
  }
  return body;
}

/** Call `listener` whenever the views should refetch (API back up, live stream resumed). */
export function onResync(listener) {
  resyncListeners.add(listener);
  return () => resyncListeners.delete(listener);
}

export function announceResync() {
  for (const listener of [...resyncListeners]) listener();
}

let probeTimer = null;
let probeDelay = 1000;

function markDown(message) {
  if (!apiStatus.get().down) apiStatus.set({ down: true, message });
  if (probeTimer === null) scheduleProbe();
}

function markUp() {
  probeDelay = 1000;
  if (probeTimer !== null) {
    clearTimeout(probeTimer);
    probeTimer = null;
  }
  if (apiStatus.get().down) {
    apiStatus.set({ down: false, message: "" });
    announceResync();
  }
}

function scheduleProbe() {
  probeTimer = setTimeout(async () => {
    probeTimer = null;
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      if (response.ok) {
        markUp();
        return;
      }
    } catch {
      // still down
    }
    probeDelay = Math.min(probeDelay * 2, 30000);
    scheduleProbe();
  }, probeDelay);
}
