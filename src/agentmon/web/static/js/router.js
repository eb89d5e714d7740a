// History-API routing: paths map to views, links navigate without reloading.
import { html } from "./lib.js";
import { createStore, useStore } from "./store.js";

function current() {
  return { path: location.pathname, search: location.search, query: new URLSearchParams(location.search) };
}

const routeStore = createStore(current());

window.addEventListener("popstate", () => routeStore.set(current()));

export function navigate(url, { replace = false } = {}) {
  const target = new URL(url, location.href);
  if (target.origin !== location.origin) {
    location.assign(target.href);
    return;
  }
  const next = target.pathname + target.search + target.hash;
  if (next === location.pathname + location.search + location.hash) return;
  if (replace) history.replaceState(null, "", next);
  else history.pushState(null, "", next);
  routeStore.set(current());
  if (!replace) window.scrollTo(0, 0);
}

export function useRoute() {
  return useStore(routeStore);
}

/** Match a path against patterns like "/sessions/:id"; returns {name, params} or null. */
export function matchRoute(routes, path) {
  for (const [pattern, name] of routes) {
    const names = [];
    const regex = new RegExp(
      "^" + pattern.replace(/:([a-z]+)/g, (_, key) => {
        names.push(key);
        return "([^/]+)";
      }) + "/?$",
    );
    const found = regex.exec(path);
    if (found) {
      const params = {};
      names.forEach((key, i) => {
        params[key] = decodeURIComponent(found[i + 1]);
      });
      return { name, params };
    }
  }
  return null;
}

/** An <a> that navigates in-app on a plain left click and behaves normally otherwise. */
export function Link({ href, children, ...rest }) {
  const onClick = (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

/** Read and update the URL query string (filters live there). */
export function useQueryParams() {
  const route = useRoute();
  const set = (changes, { replace = false } = {}) => {
    const query = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined || value === null || value === "") query.delete(key);
      else query.set(key, value);
    }
    const text = query.toString();
    navigate(location.pathname + (text ? `?${text}` : ""), { replace });
  };
  return [route.query, set];
}

