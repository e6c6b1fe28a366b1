#!/usr/bin/env node
// Type-checks test/types (the expectTypeOf tests and the sources they import) with every
// TypeScript the package supports, because the type machinery leans on inference details
// that have changed between compiler versions. Exits non-zero if any compiler fails.
import { execFile } from 'node:child_process';
import console from 'node:console';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { promisify } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const project = 'test/types/tsconfig.json';
const compilers = [
  { name: 'typescript', expected: '6.0.3' },
  { name: 'typescript5', expected: '5.9.3' },
  { name: 'typescript7', expected: '7.0.2' },
];

const run = promisify(execFile);

/** Never rejects: a compiler that fails to start is a failed row, not a crashed script. */
async function check({ name, expected }) {
  const bin = path.join('node_modules', name, 'bin', 'tsc');
  const started = performance.now();
  const tsc = (...args) => run(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  try {
    const version = (await tsc('--version')).stdout.trim().replace(/^Version /, '');
    if (version !== expected) {
      return { name, version, ok: false, seconds: 0, output: `expected TypeScript ${expected}, found ${version}` };
    }
    try {
      await tsc('--noEmit', '--pretty', 'false', '-p', project);
      return { name, version, ok: true, seconds: (performance.now() - started) / 1000, output: '' };
    } catch (error) {
      return { name, version, ok: false, seconds: (performance.now() - started) / 1000, output: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() };
    }
  } catch (error) {
    return { name, version: '?', ok: false, seconds: 0, output: String(error.message ?? error) };
  }
}

const results = await Promise.all(compilers.map(check));

const rows = [['compiler', 'version', 'result', 'errors', 'seconds']];
for (const r of results) {
  const errors = r.ok ? 0 : (r.output.match(/error TS\d+/g) ?? []).length;
  rows.push([r.name, r.version, r.ok ? 'pass' : 'FAIL', String(errors), r.seconds.toFixed(1)]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
const line = (row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
console.log(`tsc --noEmit -p ${project}`);
console.log(line(rows[0]));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of rows.slice(1)) console.log(line(row));

for (const r of results.filter((result) => !result.ok)) console.error(`\n--- ${r.name} ${r.version} ---\n${r.output}`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
