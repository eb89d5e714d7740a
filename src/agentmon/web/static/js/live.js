// The live event stream: one WebSocket to /v1/ws shared by every view.
//
// It reconnects with exponential backoff (1 s doubling to 30 s, with jitter), reset once the
// server has said hello. After a reconnect, or when the server says events were dropped, it
// announces a resync so the current view refetches over HTTP what it missed.
import { announceResync } from "./api.js";
import { createStore } from "./store.js";
import { useEffect, useRef } from "./lib.js";

/** {state: "connecting" | "open" | "closed", retryAt: epoch ms | null} */
export const liveStatus = createStore({ state: "connecting", retryAt: null });

const listeners = new Set();
let socket = null;
let attempts = 0;
let everConnected = false;
let retryTimer = null;

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1/ws`;
}

function connect() {
  retryTimer = null;
  liveStatus.set({ state: "connecting", retryAt: null });
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch {
    scheduleReconnect();
    return;
  }
  socket = ws;
  ws.addEventListener("message", (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === "hello") {
      // Only the server's greeting counts as connected (a proxy may accept and then drop).
      attempts = 0;
      liveStatus.set({ state: "open", retryAt: null });
      if (everConnected) announceResync();
      everConnected = true;
    } else if (frame.type === "events" && Array.isArray(frame.events)) {
      for (const listener of [...listeners]) listener(frame.events);
    } else if (frame.type === "dropped") {
      announceResync();
    }
  });
  ws.addEventListener("close", () => {
    if (socket === ws) {
      socket = null;
      scheduleReconnect();
    }
  });
}

function scheduleReconnect() {
  const base = Math.min(1000 * 2 ** attempts, 30000);
  const delay = base / 2 + Math.random() * (base / 2);
  attempts += 1;
  liveStatus.set({ state: "closed", retryAt: Date.now() + delay });
  retryTimer = setTimeout(connect, delay);
}

/** Reconnect now instead of waiting for the backoff timer. */
export function reconnectNow() {
  if (retryTimer !== null) {
    clearTimeout(retryTimer);
    connect();
  }
}

export function startLive() {
  if (socket === null && retryTimer === null) connect();
}

/** Subscribe to batches of envelopes; returns the unsubscribe function. */
export function onEvents(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Accessors on an envelope. */
export const ev = {
  type: (e) => e.event?.type ?? "",
  ts: (e) => e.event?.ts ?? "",
  id: (e) => e.event?.id ?? "",
  framework: (e) => e.event?.source?.framework ?? "",
  host: (e) => e.event?.source?.host ?? e.event?.source?.client_id ?? "",
  session: (e) => e.correlation?.session_id ?? null,
  run: (e) => e.correlation?.run_id ?? null,
};

/**
 * Call `refresh` (debounced by `delay` ms) when a live event for which `matches(envelope)`
 * is true arrives. The latest `matches` and `refresh` are always used.
 */
export function useLiveRefresh(matches, refresh, delay = 800) {
  const latest = useRef({ matches, refresh });
  latest.current = { matches, refresh };
  useEffect(() => {
    let timer = null;
    const off = onEvents((events) => {
      if (!events.some((e) => latest.current.matches(e))) return;
      if (timer === null) {
        timer = setTimeout(() => {
          timer = null;
          latest.current.refresh();
        }, delay);
      }
    });
    return () => {
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [delay]);
}
