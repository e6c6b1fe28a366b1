/** Calls that structured-clone an argument, which throws DataCloneError on any proxy. */
import type { DeclarationSite } from './declaration-site.js';

const BUILT_IN = new Set(['lib', '@types/node']);
// Worker pools whose task argument is posted to a worker thread.
const POOLS: readonly { origin: string; owner: string; name: string }[] = [
  { origin: 'piscina', owner: 'Piscina', name: 'run' },
  { origin: 'tinypool', owner: 'Tinypool', name: 'run' },
];

/** Which argument the call structured-clones, if it clones one. */
export function clonedArgument(site: DeclarationSite): number | undefined {
  if (BUILT_IN.has(site.origin)) {
    if (site.name === 'postMessage') return 0;
    if (site.name === 'postMessageToThread') return 1;
    if (site.name === 'structuredClone' && site.owner === undefined) return 0;
    return site.module === 'v8' && site.name === 'serialize' ? 0 : undefined;
  }
  return POOLS.some((pool) => pool.origin === site.origin && pool.owner === site.owner && pool.name === site.name) ? 0 : undefined;
}
