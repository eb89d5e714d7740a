// Data hooks shared by the views: fetching with reload, resync on reconnect, ticking clocks.
import { getJSON, onResync } from "./api.js";
import { useCallback, useEffect, useRef, useState } from "./lib.js";
import { createStore } from "./store.js";

/** What the current page is about, for the tab title: {path, title} or null. */
export const pageSubject = createStore(null);

/** Name the page's subject in the tab title ("Session Fix the login page"), while it shows. */
export function usePageTitle(title) {
  useEffect(() => {
    if (!title) return undefined;
    const mine = { path: location.pathname, title };
    pageSubject.set(mine);
    return () => {
      if (pageSubject.get() === mine) pageSubject.set(null);
    };
  }, [title]);
}

/**
 * Fetch JSON from `path` (null: nothing to fetch). Returns {data, error, loading, at, reload}
 * (`at`: when the data arrived, epoch ms).
 * A reload keeps the previous data on screen until the new answer arrives; answers that
 * arrive out of order are ignored. Every fetch hook reloads when the app resyncs.
 */
export function useFetch(path) {
  const [state, setState] = useState({ data: null, error: null, loading: path !== null });
  const seq = useRef(0);
  const pathRef = useRef(path);
  pathRef.current = path;

  const load = useCallback(async () => {
    const target = pathRef.current;
    const mine = ++seq.current;
    if (target === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    setState((prev) => ({ ...prev, loading: true }));
    try {
      const data = await getJSON(target);
      if (mine === seq.current) setState({ data, error: null, loading: false, at: Date.now() });
    } catch (error) {
      if (mine === seq.current) setState((prev) => ({ data: prev.data, error, loading: false }));
    }
  }, []);

  useEffect(() => {
    setState({ data: null, error: null, loading: path !== null });
    load();
  }, [path, load]);

  useEffect(() => onResync(load), [load]);

  return { ...state, reload: load };
}

/** Re-render every `ms` milliseconds (for relative times such as "3 min ago"). */
export function useTick(ms = 10000) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return Date.now();
}
