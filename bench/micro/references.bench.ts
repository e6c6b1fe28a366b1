/**
 * What signed references cost: a message of 10 proxies encoded, sent as JSON
 * and decoded, without a secret (the policy checks every descriptor) and with
 * one (an HMAC per descriptor on each side), side by side in one run.
 *
 *   npm run build && node dist/bench/micro/references.bench.js
 *
 * Figures from a loaded machine are noisy; the ratio is what to compare.
 */
import { MemoryConnector, Store, configureReferences, decodeProxies, encodeProxies } from 'ts-proxystore';
import { median, timeMany } from '../timing.js';

const PROXIES = 10;
const REPS = 2_000;

async function main(): Promise<void> {
  const store = new Store('bench-references', new MemoryConnector(), { register: true });
  const message = await Promise.all(Array.from({ length: PROXIES }, (_, i) => store.proxy({ i })));
  const roundTrip = (): Promise<void> => {
    const decoded = decodeProxies(JSON.parse(JSON.stringify(encodeProxies(message))) as unknown) as unknown[];
    if (decoded.length !== PROXIES) throw new Error('lost proxies');
    return Promise.resolve();
  };
  const unsigned = async (): Promise<void> => {
    configureReferences({ secret: null });
    await roundTrip();
  };
  const signed = async (): Promise<void> => {
    configureReferences({ secret: 'bench-secret-of-enough-length' });
    await roundTrip();
  };
  const [unsignedMs = [], signedMs = []] = await timeMany([unsigned, signed], REPS, 50);
  configureReferences({ secret: null });
  await store.close({ clear: true });
  const u = median(unsignedMs);
  const s = median(signedMs);
  console.log(`encode + JSON + decode of ${PROXIES} proxies (median of ${REPS})`);
  console.table({
    unsigned: { 'ms per message': u.toFixed(4), 'µs per descriptor': ((u * 1000) / PROXIES).toFixed(2) },
    signed: { 'ms per message': s.toFixed(4), 'µs per descriptor': ((s * 1000) / PROXIES).toFixed(2), 'signed/unsigned': `${(s / u).toFixed(2)}x` },
  });
}

await main();
