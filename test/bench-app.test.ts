/**
 * The bench's application experiment: the tiled Cholesky runs in a process
 * of its own (bench/paper/app-process.ts), reports each run as it ends, and
 * its failure reaches the bench.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** The build: the experiment starts its process on the compiled module next to it. */
const { measureApp } = (await import(path.join(import.meta.dirname, '..', 'dist', 'bench', 'paper', 'experiments.js'))) as typeof import('../bench/paper/experiments.js');

const plan = { engine: 'piscina', warmCalls: 0, connectors: ['shared-memory'] } as const;

describe('bench application experiment', () => {
  it('times every run of each way in a process of its own, ticking as each ends, and checks both ways give the same factor', { timeout: 120_000 }, async () => {
    const ticks: string[] = [];
    const result = await measureApp(plan, { size: 256, tile: 128, workers: 2, reps: 3 }, (phase) => ticks.push(phase));
    expect(ticks).toEqual(new Array(6).fill('tiled Cholesky'));
    expect(result.value.samples).toHaveLength(3);
    expect(result.proxy.samples).toHaveLength(3);
    for (const ms of [...result.value.samples, ...result.proxy.samples]) expect(ms).toBeGreaterThan(0);
    // Two tiles a side: potrf, trsm, syrk, potrf.
    expect(result).toMatchObject({ name: 'tiled Cholesky', size: 256, tile: 128, workers: 2, tasks: 4, connector: 'shared-memory', identical: true });
  });

  it('fails with the process when a run fails there', { timeout: 60_000 }, async () => {
    await expect(measureApp(plan, { size: 300, tile: 128, workers: 2, reps: 1 }, () => undefined)).rejects.toThrow(/the tiled Cholesky process failed \(exit code 1\)/);
  });
});
