/**
 * Just enough charting for the paper's figure shapes: a line chart with
 * linear or logarithmic axes and a grouped bar chart, as standalone SVG, and
 * PNG through resvg. Text uses DejaVu Sans first, the one family resvg finds on
 * a bare Debian, so the SVG and the PNG set text alike.
 */
import { writeFile } from 'node:fs/promises';
import { Resvg } from '@resvg/resvg-js';

interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  readonly color: string;
  readonly dashed?: boolean;
}

type Scale = 'linear' | 'log';

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xScale: Scale;
  readonly yScale: Scale;
  readonly series: readonly Series[];
  readonly formatX: (x: number) => string;
  readonly formatY: (y: number) => string;
  /** Ticks on x at exactly these values (e.g. the worker counts measured) instead of computed ones. */
  readonly xTicks?: readonly number[];
}

export interface BarChart {
  readonly title: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly { readonly name: string; readonly color: string; readonly values: readonly (number | undefined)[] }[];
  /** A dashed horizontal line, e.g. at 1x: no gain. */
  readonly reference?: { readonly value: number; readonly label: string };
  /** Bar labels; the axis uses `formatTick`. */
  readonly formatValue: (v: number) => string;
  readonly formatTick: (v: number) => string;
}

export const PALETTE = ['#1f6fb4', '#d1495b', '#2a9d57', '#e08a1e', '#7b5ea7', '#6b4f3a'] as const;
export const INK = '#222222';

const WIDTH = 820;
const HEIGHT = 480;
const PLOT = { left: 78, right: 600, top: 52, bottom: 404 } as const;
const FONT = "font-family=\"'DejaVu Sans', Verdana, Arial, sans-serif\"";

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${escape(content)}</text>`;
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 28, title, `font-size="16" font-weight="bold" text-anchor="middle" fill="${INK}"`),
    ...body,
    '</svg>',
  ].join('\n');
}

interface Axis {
  readonly map: (v: number) => number;
  readonly ticks: readonly number[];
}

/** Round steps (1, 2, 5 × 10^k) giving about five intervals. */
function niceStep(span: number): number {
  const raw = span / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

function axis(scale: Scale, values: readonly number[], from: number, to: number, forced?: readonly number[]): Axis {
  if (scale === 'log') {
    const positive = values.filter((v) => v > 0);
    const low = Math.floor(Math.log10(Math.min(...positive)));
    const high = Math.max(Math.ceil(Math.log10(Math.max(...positive))), low + 1);
    const ticks = forced ?? Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
    return { map: (v) => from + ((Math.log10(v) - low) / (high - low)) * (to - from), ticks };
  }
  // Headroom above the tallest value keeps its label and the legend clear of the frame.
  const max = Math.max(...values) * 1.08;
  const min = Math.min(0, ...values);
  const step = niceStep(max - min || 1);
  const top = Math.ceil(max / step) * step;
  const ticks = forced ?? Array.from({ length: Math.round((top - min) / step) + 1 }, (_, i) => min + i * step);
  const lowest = forced === undefined ? min : Math.min(...forced);
  const highest = forced === undefined ? top : Math.max(...forced);
  return { map: (v) => from + ((v - lowest) / (highest - lowest || 1)) * (to - from), ticks };
}

function legend(entries: readonly { name: string; color: string; dashed?: boolean; bar?: boolean }[]): string[] {
  return entries.flatMap((entry, i) => {
    const y = PLOT.top + 8 + i * 22;
    const x = PLOT.right + 18;
    const mark = entry.bar
      ? `<rect x="${x}" y="${y - 6}" width="22" height="12" fill="${entry.color}"/>`
      : `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${entry.color}" stroke-width="2.5"${entry.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`;
    return [mark, text(x + 30, y + 4, entry.name, `font-size="12" fill="${INK}"`)];
  });
}

function axesLabels(xLabel: string, yLabel: string): string[] {
  const midY = (PLOT.top + PLOT.bottom) / 2;
  return [
    text((PLOT.left + PLOT.right) / 2, HEIGHT - 30, xLabel, `font-size="13" text-anchor="middle" fill="${INK}"`),
    text(20, midY, yLabel, `font-size="13" text-anchor="middle" fill="${INK}" transform="rotate(-90 20 ${midY})"`),
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="${INK}"/>`,
  ];
}

export function lineChart(chart: LineChart): string {
  const points = chart.series.flatMap((s) => s.points);
  const x = axis(chart.xScale, points.map((p) => p.x), PLOT.left, PLOT.right, chart.xTicks);
  const y = axis(chart.yScale, points.map((p) => p.y), PLOT.bottom, PLOT.top);
  const grid = [
    ...y.ticks.flatMap((t) => [
      `<line x1="${PLOT.left}" y1="${y.map(t).toFixed(1)}" x2="${PLOT.right}" y2="${y.map(t).toFixed(1)}" stroke="#dddddd"/>`,
      text(PLOT.left - 8, y.map(t) + 4, chart.formatY(t), `font-size="11" text-anchor="end" fill="${INK}"`),
    ]),
    ...x.ticks.flatMap((t) => [
      `<line x1="${x.map(t).toFixed(1)}" y1="${PLOT.top}" x2="${x.map(t).toFixed(1)}" y2="${PLOT.bottom}" stroke="#eeeeee"/>`,
      text(x.map(t), PLOT.bottom + 18, chart.formatX(t), `font-size="11" text-anchor="middle" fill="${INK}"`),
    ]),
  ];
  const lines = chart.series.flatMap((s) => {
    const coords = s.points.map((p) => `${x.map(p.x).toFixed(1)},${y.map(p.y).toFixed(1)}`);
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    return [
      `<polyline points="${coords.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2.5"${dash}/>`,
      ...s.points.map((p) => `<circle cx="${x.map(p.x).toFixed(1)}" cy="${y.map(p.y).toFixed(1)}" r="3.5" fill="${s.color}"/>`),
    ];
  });
  return frame(chart.title, [...grid, ...axesLabels(chart.xLabel, chart.yLabel), ...lines, ...legend(chart.series)]);
}

export function barChart(chart: BarChart): string {
  const values = chart.series.flatMap((s) => s.values.filter((v) => v !== undefined));
  const y = axis('linear', [...values, chart.reference?.value ?? 0], PLOT.bottom, PLOT.top);
  const slot = (PLOT.right - PLOT.left) / chart.categories.length;
  const barWidth = Math.min(34, (slot * 0.8) / chart.series.length);
  const body = [
    ...y.ticks.flatMap((t) => [
      `<line x1="${PLOT.left}" y1="${y.map(t).toFixed(1)}" x2="${PLOT.right}" y2="${y.map(t).toFixed(1)}" stroke="#dddddd"/>`,
      text(PLOT.left - 8, y.map(t) + 4, chart.formatTick(t), `font-size="11" text-anchor="end" fill="${INK}"`),
    ]),
    ...axesLabels('', chart.yLabel),
  ];
  chart.categories.forEach((category, c) => {
    const center = PLOT.left + slot * (c + 0.5);
    body.push(text(center, PLOT.bottom + 18, category, `font-size="11" text-anchor="middle" fill="${INK}"`));
    chart.series.forEach((s, i) => {
      const v = s.values[c];
      if (v === undefined) return;
      const left = center - (barWidth * chart.series.length) / 2 + i * barWidth;
      const top = y.map(v);
      body.push(`<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(y.map(0) - top).toFixed(1)}" fill="${s.color}"/>`);
      body.push(text(left + barWidth / 2 - 1, top - 4, chart.formatValue(v), `font-size="9" text-anchor="middle" fill="${INK}"`));
    });
  });
  if (chart.reference !== undefined) {
    const ry = y.map(chart.reference.value).toFixed(1);
    body.push(`<line x1="${PLOT.left}" y1="${ry}" x2="${PLOT.right}" y2="${ry}" stroke="${INK}" stroke-width="1.2" stroke-dasharray="4 3"/>`);
    body.push(text(PLOT.right - 4, Number(ry) - 5, chart.reference.label, `font-size="11" text-anchor="end" fill="${INK}"`));
  }
  return frame(chart.title, [...body, ...legend(chart.series.map((s) => ({ ...s, bar: true })))]);
}

/** Writes `<base>.svg` and `<base>.png` (twice the SVG's size, for sharp text). */
export async function writeChart(base: string, svg: string): Promise<string[]> {
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  await Promise.all([writeFile(`${base}.svg`, svg), writeFile(`${base}.png`, png)]);
  return [`${base}.svg`, `${base}.png`];
}
