// Time-series charts drawn by uPlot (served by keyroll from node_modules); legends and marks are HTML text.

import { el, replace, when } from './dom.js';
import { onLeave } from './lifecycle.js';
import uPlot from './vendor/uplot.js';

/** The number of series colours defined in style.css (`--series-0` … `--series-7`). */
const COLOURS = 8;

/** A colour of the current theme (light or dark follow the system), read from the CSS custom properties. */
function colour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Draws each mark (e.g. a rotation's deadline) as a dashed vertical line across the plot. */
function marksPlugin(marks) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = colour('--chart-mark');
        ctx.lineWidth = 2 * uPlot.pxRatio;
        ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
        for (const m of marks()) {
          const x = Math.round(u.valToPos(m.at / 1000, 'x', true));
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

/** The x range (s) covering `times` (s) and `marks` (ms); a minute wide at least (uPlot's own default is days). */
function xRange(times, marks) {
  const all = [...times, ...marks.map((m) => m.at / 1000)];
  if (all.length === 0) return [0, 60];
  const lo = Math.min(...all);
  return [lo, Math.max(lo + 60, ...all)];
}

/**
 * A time-series chart: `series` are `{ name, colour, total }` (colour: an index into the theme's series colours;
 * the legend shows each series' total unless `total` is false).
 * Returns `{ node, setData(times, values, marks) }`: `times` in ms, one array of numbers per series,
 * `marks` as `{ at, label }` (ms). The chart is drawn once its box has a width, and follows its resizing
 * and the system's theme until the view is left.
 */
export function timeChart({ title, series, height = 220 }) {
  let data = [[], ...series.map(() => [])];
  let marks = [];
  let plot = null;
  const canvas = el('div', { class: 'chart-canvas', role: 'img', 'aria-label': title });
  const legend = el('ul', { class: 'legend' });
  const node = el('figure', { class: 'chart' }, el('figcaption', {}, title), canvas, legend);
  const create = (width) => {
    const axis = { stroke: colour('--chart-axis'), grid: { stroke: colour('--chart-grid') }, ticks: { show: false } };
    plot = new uPlot(
      {
        width,
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          // The x range is the data's and reaches the marks, so a deadline ahead of the traffic is on the chart.
          x: { time: true, range: () => xRange(data[0], marks) },
          y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1)] },
        },
        axes: [axis, { ...axis, size: 48 }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.name,
            stroke: colour(`--series-${s.colour % COLOURS}`),
            width: 2,
          })),
        ],
        plugins: [marksPlugin(() => marks)],
      },
      data,
      canvas,
    );
  };
  const resized = new ResizeObserver(() => {
    const width = canvas.clientWidth;
    if (width === 0) return;
    if (plot) plot.setSize({ width, height });
    else create(width);
  });
  resized.observe(canvas);
  // Canvas colours are fixed when drawn: a switch of the system's theme draws the chart anew.
  const dark = matchMedia('(prefers-color-scheme: dark)');
  const recolour = () => {
    if (!plot) return;
    const width = plot.width;
    plot.destroy();
    create(width);
  };
  dark.addEventListener('change', recolour);
  onLeave(() => {
    resized.disconnect();
    dark.removeEventListener('change', recolour);
  });
  const setData = (times, values, newMarks = []) => {
    data = [times.map((t) => t / 1000), ...values];
    marks = newMarks;
    plot?.setData(data);
    replace(
      legend,
      series.map((s, i) =>
        el(
          'li',
          {},
          el('span', { class: `swatch swatch-${s.colour % COLOURS}`, 'aria-hidden': 'true' }),
          el('span', { class: 'legend-name' }, s.name),
          s.total === false
            ? null
            : [' ', el('span', { class: 'legend-value' }, String(values[i].reduce((a, b) => a + (b ?? 0), 0)))],
        ),
      ),
      marks.map((m) =>
        el(
          'li',
          { class: 'legend-mark' },
          el('span', { class: 'swatch swatch-mark', 'aria-hidden': 'true' }),
          `${m.label}: ${when(new Date(m.at).toISOString())}`,
        ),
      ),
    );
  };
  return { node, setData };
}
