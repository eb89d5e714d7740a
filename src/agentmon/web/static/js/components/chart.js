// Charts: a uPlot time series (vendored, loaded as window.uPlot) and a small SVG sparkline.
import { html, useEffect, useRef } from "../lib.js";
import { parseTs } from "../format.js";

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

function zeroBased(_, min, max) {
  return [0, max > 0 ? max : 1];
}

function chartOptions(width, height, series) {
  const axisColor = cssVar("--muted");
  const gridColor = cssVar("--grid");
  const axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
  // One y axis per scale: the first on the left, a second on the right without its grid.
  const scales = [...new Set(series.map((s) => s.scale || "y"))];
  const yAxes = scales.map((scale, i) => {
    const format = series.find((s) => (s.scale || "y") === scale)?.format;
    return {
      ...axis,
      scale,
      size: 60,
      side: i === 0 ? 3 : 1,
      grid: i === 0 ? axis.grid : { show: false },
      values: format ? (_, ticks) => ticks.map(format) : undefined,
    };
  });
  return {
    width,
    height,
    cursor: { drag: { x: false, y: false } },
    legend: { show: true },
    // Counts start at zero, and an all-zero series shows 0..1 rather than uPlot's 0..100.
    scales: Object.fromEntries([["x", { time: true }], ...scales.map((scale) => [scale, { range: zeroBased }])]),
    axes: [axis, ...yAxes],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        scale: s.scale || "y",
        stroke: cssVar(s.color),
        width: 2,
        fill: s.fill ? cssVar(s.fill) : undefined,
        points: { show: false },
        value: s.format ? (_, v) => (v === null || v === undefined ? "--" : s.format(v)) : undefined,
      })),
    ],
  };
}

function toData(points, series) {
  const xs = points.map((p) => (parseTs(p.ts) ?? 0) / 1000);
  return [xs, ...series.map((s) => points.map((p) => p[s.key] ?? 0))];
}

/**
 * A time-series chart. `points`: [{ts, …}]; `series`: [{key, label, color: "--css-var",
 * scale?: name (series on a second scale get a right-hand axis), format?: value => text,
 * fill?: "--css-var" under the line}].
 */
export function TimeChart({ points, series, height = 220, label }) {
  const box = useRef(null);
  const plot = useRef(null);
  const seriesKey = series.map((s) => `${s.key}:${s.scale || "y"}`).join(",");

  useEffect(() => {
    const element = box.current;
    if (!element || typeof window.uPlot !== "function") return undefined;
    const build = () => {
      plot.current?.destroy();
      const width = Math.max(element.clientWidth, 200);
      plot.current = new window.uPlot(chartOptions(width, height, series), toData(points, series), element);
    };
    build();
    const resize = new ResizeObserver(() => {
      const width = Math.max(element.clientWidth, 200);
      if (plot.current && Math.abs(plot.current.width - width) > 1) {
        plot.current.setSize({ width, height });
      }
    });
    resize.observe(element);
    const scheme = window.matchMedia("(prefers-color-scheme: dark)");
    scheme.addEventListener("change", build);
    return () => {
      resize.disconnect();
      scheme.removeEventListener("change", build);
      plot.current?.destroy();
      plot.current = null;
    };
    // The chart is rebuilt when its series change; data updates go through setData below.
  }, [seriesKey, height]);

  useEffect(() => {
    plot.current?.setData(toData(points, series));
  }, [points]);

  return html`<div class="chart" ref=${box} role="img" aria-label=${label || "chart"}></div>`;
}

/** A sparkline of `values` (numbers, nulls skipped) scaled to [min, max]. */
export function Sparkline({ values, min = 0, max = 100, label }) {
  const finite = values.map((v, i) => [i, v]).filter(([, v]) => typeof v === "number" && Number.isFinite(v));
  if (finite.length < 2) return html`<span class="sparkline-empty muted">no history yet</span>`;
  const top = Math.max(max, ...finite.map(([, v]) => v));
  const span = top - min || 1;
  const n = values.length - 1 || 1;
  const coords = finite.map(([i, v]) => `${((i / n) * 100).toFixed(2)},${(30 - ((v - min) / span) * 28 - 1).toFixed(2)}`);
  return html`<svg class="sparkline" viewBox="0 0 100 30" preserveAspectRatio="none" role="img"
      aria-label=${label || "sparkline"}>
    <polyline points=${coords.join(" ")} fill="none" vector-effect="non-scaling-stroke" />
  </svg>`;
}
