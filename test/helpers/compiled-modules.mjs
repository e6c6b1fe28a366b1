/**
 * A Node module resolve hook for the test run only. Vitest loads this package
 * from its TypeScript sources, but a worker thread runs JavaScript: the sync
 * bridge's worker (runtime/connectors/sync-bridge/worker.js) and the connector
 * modules it imports by URL have no .js beside their sources. When a file URL
 * inside the repository does not resolve, the same path under dist/ (which
 * `npm test` builds first) is used instead.
 */
import { URL } from 'node:url';

const root = new URL('../../', import.meta.url).href;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const isPath = specifier.startsWith('file:') || specifier.startsWith('.') || specifier.startsWith('/');
    const url = isPath ? new URL(specifier, context.parentURL ?? root).href : undefined;
    if (url === undefined || !url.startsWith(root) || url.startsWith(`${root}dist/`) || url.includes('/node_modules/')) throw error;
    return next(`${root}dist/${url.slice(root.length)}`, context);
  }
}
