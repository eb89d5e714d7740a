// The rendering library: Preact with htm tagged templates (no JSX, no build step).
import { h, render, Fragment, createContext } from "../vendor/preact/preact.mjs";
import {
  useState, useEffect, useRef, useMemo, useCallback, useContext, useLayoutEffect,
} from "../vendor/preact/hooks.mjs";
import htm from "../vendor/htm/htm.mjs";

export const html = htm.bind(h);
export {
  h, render, Fragment, createContext,
  useState, useEffect, useRef, useMemo, useCallback, useContext, useLayoutEffect,
};
