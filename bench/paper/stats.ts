/** Summaries of repeated measurements, and the units the tables and charts print them in. */
import { median } from '../timing.js';

export interface Summary {
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/** Linear interpolation between order statistics, so a handful of samples still gives a spread. */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (at - low);
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('nothing to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: median(sorted),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] as number,
    max: sorted.at(-1) as number,
    samples,
  };
}

/** Three significant digits, without exponent notation for the sizes a benchmark meets. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.max(Math.abs(x), 1e-9))));
  return x.toFixed(Math.min(digits, 3));
}

/** Axis ticks: as short as the value allows (0.1, 1, 250). */
export function formatTick(x: number): string {
  return String(Number(x.toPrecision(3)));
}

/** A ratio as "0.69x" or "12.3x". */
export function formatTimes(x: number): string {
  return `${x < 10 ? x.toFixed(2) : x.toFixed(1)}x`;
}

/** "12.3 (11.9–12.8)": the median and its interquartile range. */
export function formatSummary(s: Summary): string {
  return `${formatNumber(s.median)} (${formatNumber(s.p25)}–${formatNumber(s.p75)})`;
}

const DECIMAL_UNITS = [
  ['GB', 1e9],
  ['MB', 1e6],
  ['kB', 1e3],
] as const;

/** Sizes as the paper writes them: decimal units. */
export function formatBytes(bytes: number): string {
  for (const [unit, scale] of DECIMAL_UNITS) if (bytes >= scale) return `${Number((bytes / scale).toPrecision(3))} ${unit}`;
  return `${bytes} B`;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/i;
const SCALE: Readonly<Record<string, number>> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/** "1kB", "10MB", "1MiB", "4096": kB/MB/GB are decimal, KiB/MiB/GiB binary. */
export function parseBytes(text: string): number {
  const match = SIZE.exec(text.trim());
  if (match === null) throw new Error(`not a size: '${text}' (try 1kB, 10MB, 1MiB or a number of bytes)`);
  const bytes = Math.round(Number(match[1]) * (SCALE[(match[2] ?? 'b').toLowerCase()] as number));
  if (bytes < 1) throw new Error(`a payload has at least one byte: '${text}'`);
  return bytes;
}
