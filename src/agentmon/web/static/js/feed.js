// The state of a live event feed: the newest events first, merged from an HTTP page and the
// WebSocket, deduplicated by event id, with a pause that holds new events back.
import { useEffect, useRef, useState } from "./lib.js";
import { ev, onEvents } from "./live.js";

const FEED_LIMIT = 200;

function merge(current, incoming, limit) {
  const seen = new Set();
  const all = [...incoming, ...current].filter((e) => {
    const id = ev.id(e);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  all.sort((a, b) => (ev.ts(a) < ev.ts(b) ? 1 : ev.ts(a) > ev.ts(b) ? -1 : 0));
  return all.slice(0, limit);
}

/**
 * `initial`: the latest events from HTTP (newest first), or null while loading.
 * `accept(envelope)`: which live events belong in this feed.
 * Returns {events, paused, pending, setPaused}.
 */
export function useEventFeed(initial, accept, limit = FEED_LIMIT) {
  const [events, setEvents] = useState([]);
  const [paused, setPausedState] = useState(false);
  const [pending, setPending] = useState([]);
  const acceptRef = useRef(accept);
  acceptRef.current = accept;
  const pausedRef = useRef(false);

  useEffect(() => {
    if (initial) setEvents((current) => merge(current, initial, limit));
  }, [initial, limit]);

  useEffect(() => onEvents((batch) => {
    const fresh = batch.filter((e) => acceptRef.current(e));
    if (fresh.length === 0) return;
    if (pausedRef.current) setPending((held) => merge(held, fresh, limit));
    else setEvents((current) => merge(current, fresh, limit));
  }), [limit]);

  const setPaused = (value) => {
    pausedRef.current = value;
    setPausedState(value);
    if (!value) {
      setPending((held) => {
        if (held.length) setEvents((current) => merge(current, held, limit));
        return [];
      });
    }
  };

  return { events, paused, pending: pending.length, setPaused };
}
