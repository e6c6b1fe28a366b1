// Start workers first, on this machine or any other that reaches Redis:
//   npx ts-proxystore-worker --queue example --tasks ./tasks.js --redis redis://127.0.0.1:6379
import { Store, extract, isProxy } from 'ts-proxystore';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { StoreExecutor } from 'ts-proxystore/executors';
import { BullMQExecutor, redisOptionsFromUrl } from 'ts-proxystore/executors/bullmq';
import type { tasks } from './tasks.js';

const redis = redisOptionsFromUrl(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const store = new Store('bullmq-example', new RedisConnector(redis));
{
  await using executor = new StoreExecutor(new BullMQExecutor<typeof tasks>('example', { connection: redis }), { store });
  const big = new Float64Array(1_000_000).fill(1); // 8 MB: the job carries its key, not the bytes
  console.log('sum:', await executor.submit('sum', big)); // 1000000
  const doubled = await executor.submit('scale', big, 2);
  console.log('doubled:', isProxy(doubled), extract(doubled)[0]); // true 2: a proxy, extracted once here
}
await store.close({ clear: true });
