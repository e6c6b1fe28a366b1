#!/usr/bin/env node
/**
 * Factorizes one matrix by value and by proxy on an engine, and checks that
 * both give the same L, bit for bit, and that L·Lᵀ reproduces A.
 *
 *   node dist/examples/tiled-cholesky/main.js [--engine piscina|bullmq] [--size 1024] [--tile 256]
 *                                             [--workers 2] [--redis redis://127.0.0.1:6379]
 */
import { parseArgs } from 'node:util';
import { relativeResidual, spdMatrix } from './kernels.js';
import { runExample, type ExampleOptions } from './run.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'piscina' },
    size: { type: 'string', default: '1024' },
    tile: { type: 'string', default: '256' },
    workers: { type: 'string', default: '2' },
    redis: { type: 'string' },
  },
});
const engine = values.engine === 'bullmq' ? 'bullmq' : 'piscina';
const common = {
  engine,
  size: Number(values.size),
  tile: Number(values.tile),
  workers: Number(values.workers),
  ...(values.redis === undefined ? {} : { redis: values.redis }),
} satisfies Omit<ExampleOptions, 'mode'>;

const byValue = await runExample({ ...common, mode: 'value' });
const byProxy = await runExample({ ...common, mode: 'proxy' });
const identical = byValue.result.every((x, i) => Object.is(x, byProxy.result[i]));
const residual = relativeResidual(spdMatrix(common.size), byProxy.result, common.size);
console.log(`${engine}, ${common.size}×${common.size} in ${common.tile}×${common.tile} tiles, ${byValue.tasks} tasks on ${common.workers} workers`);
console.log(`  by value ${byValue.ms.toFixed(0)} ms, by proxy ${byProxy.ms.toFixed(0)} ms`);
console.log(`  same L bit for bit: ${identical}; max |L·Lᵀ − A| / max |A| = ${residual.toExponential(2)}`);
process.exitCode = identical && residual < 1e-12 ? 0 : 1;
