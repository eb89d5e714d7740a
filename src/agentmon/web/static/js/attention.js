// Attention you can act on: acknowledging items (stored server-side, so every browser agrees)
// and opt-in browser notifications when an agent starts waiting, gets stuck, loops, is lost
// or fails. The notifier lives in the app shell, so it works whichever view is open.
import { html, useEffect, useRef } from "./lib.js";
import { getJSON, withQuery } from "./api.js";
import { ev, onEvents } from "./live.js";
import { navigate } from "./router.js";
import { createStore, useStore } from "./store.js";
import { statusLabel } from "./components/status.js";
import { oneLine } from "./format.js";

export const KINDS = ["waiting", "stuck", "looping", "lost", "error"];
const PREFERENCE = "agentmon.notifications";
const NOTIFY_WINDOW = "1h"; // only what began lately can be news
const POLL_MS = 30000; // stuck and lost agents send no event that would say so

/** Acknowledge (or, with `reopen`, forget the acknowledgement of) an item; the item as now. */
export async function acknowledge(kind, id, { reopen = false } = {}) {
  const path = `/v1/attention/${encodeURIComponent(kind)}/${encodeURIComponent(id)}/ack`;
  const response = await fetch(path, {
    method: reopen ? "DELETE" : "POST",
    // the header another site's page cannot send without a preflight agentmon never grants
    headers: { accept: "application/json", "x-agentmon-csrf": "1" },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error || `HTTP ${response.status}`);
  return body;
}

function notificationsSupported() {
  return typeof window.Notification === "function";
}

function savedPreference() {
  try {
    return localStorage.getItem(PREFERENCE) === "on";
  } catch {
    return false;
  }
}

/** {on, permission}: whether the user asked for notifications, and what the browser allows. */
export const notifyState = createStore({
  on: savedPreference(),
  permission: notificationsSupported() ? Notification.permission : "unsupported",
});

function setPreference(on, permission) {
  try {
    localStorage.setItem(PREFERENCE, on ? "on" : "off");
  } catch {
    // private mode: the choice lasts for this page only
  }
  notifyState.set({ on, permission });
}

async function toggleNotifications() {
  if (!notificationsSupported()) return;
  if (notifyState.get().on) {
    setPreference(false, Notification.permission);
    return;
  }
  const permission = Notification.permission === "default"
    ? await Notification.requestPermission() : Notification.permission;
  setPreference(permission === "granted", permission);
}

/** The opt-in switch, with what the browser allows when it says no. */
export function NotifyToggle() {
  const state = useStore(notifyState);
  if (state.permission === "unsupported") return null;
  const blocked = state.permission === "denied";
  const label = state.on ? "Notifications on" : "Notify me";
  return html`<button type="button" class=${`toggle notify-toggle ${state.on ? "on" : ""}`}
      aria-pressed=${state.on} disabled=${blocked && !state.on}
      title=${blocked ? "This browser blocks notifications from this site; allow them in its site settings."
        : "A browser notification when an agent starts waiting, gets stuck, loops, is lost or fails"}
      onClick=${toggleNotifications}>${blocked && !state.on ? "Notifications blocked" : label}</button>`;
}

function itemKey(item) {
  return `${item.kind}:${item.id}:${item.since}`;
}

function openItems(data) {
  return data.groups.flatMap((g) => g.items.filter((i) => !i.acknowledged));
}

function notificationText(item) {
  const s = item.session;
  const who = `${s.framework || "agent"} on ${s.host || s.client_id || "an unknown host"}`;
  const what = item.kind === "waiting" && s.waiting_message ? `asks: ${oneLine(s.waiting_message, 140)}`
    : oneLine(s.title || s.session_id, 140);
  return { title: `${who}: ${statusLabel(item.kind)}`, body: what };
}

function show(item) {
  const { title, body } = notificationText(item);
  const note = new Notification(title, { body, tag: itemKey(item) });
  note.onclick = () => {
    window.focus();
    navigate(`/sessions/${encodeURIComponent(item.id)}`);
    note.close();
  };
}

/**
 * While notifications are on: watch the attention list (on session events, and every 30 s)
 * and notify once per new occurrence. What is already there when watching starts is not news.
 */
export function AttentionNotifier() {
  const state = useStore(notifyState);
  const seen = useRef(null);
  useEffect(() => {
    if (!state.on || state.permission !== "granted") {
      seen.current = null;
      return undefined;
    }
    let stopped = false;
    let timer = null;
    const check = async () => {
      let data;
      try {
        data = await getJSON(withQuery("/v1/attention", { window: NOTIFY_WINDOW }));
      } catch {
        return;
      }
      if (stopped) return;
      const items = openItems(data);
      if (seen.current !== null) {
        for (const item of items) if (!seen.current.has(itemKey(item))) show(item);
      }
      seen.current = new Set([...(seen.current ?? []), ...items.map(itemKey)]);
    };
    const soon = () => {
      if (timer === null) timer = setTimeout(() => { timer = null; check(); }, 1000);
    };
    check();
    const off = onEvents((events) => {
      if (events.some((e) => ev.session(e) !== null)) soon();
    });
    const poll = setInterval(check, POLL_MS);
    return () => {
      stopped = true;
      off();
      clearInterval(poll);
      if (timer !== null) clearTimeout(timer);
    };
  }, [state.on, state.permission]);
  return null;
}
