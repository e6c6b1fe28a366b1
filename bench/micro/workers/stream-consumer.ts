/**
 * A consumer process of the streams benchmark: argv = redis port, stream
 * prefix, group, mode ('value': the bytes are in the event, base64; 'proxy':
 * the event holds a proxy, of a Redis or a peer store; the peer secret comes from
 * PROXYSTORE_PEER_SECRET). Reads every item (sums it) until the producer
 * ends the topic, then prints how many it handled.
 */
import { proxyReviver } from '../../../src/index.js';
import '../../../runtime/connectors/peer.js';
import '../../../runtime/connectors/redis.js';
import { RedisStreamSubscriber } from '../../../runtime/stream/redis.js';
import { StreamConsumer } from '../../../runtime/stream/stream.js';

const [port, prefix, group, mode] = process.argv.slice(2) as [string, string, string, 'value' | 'proxy'];
const subscriber = new RedisStreamSubscriber('items', { connection: { host: '127.0.0.1', port: Number(port) }, prefix, group, blockMs: 50 });
let handled = 0;
let total = 0;
const sum = (data: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < data.length; i += 512) s += data[i] as number;
  return s;
};
process.stdout.write('ready\n');
if (mode === 'proxy') {
  for await (const item of new StreamConsumer<Float64Array>(subscriber)) {
    total += sum(item);
    handled += 1;
  }
} else {
  for await (const message of subscriber) {
    const event = JSON.parse(message.data, proxyReviver()) as { end?: true; b64?: string };
    await message.ack?.();
    if (event.b64 === undefined) continue;
    const bytes = Buffer.from(event.b64, 'base64');
    total += sum(new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8));
    handled += 1;
  }
}
process.stdout.write(`${JSON.stringify({ handled, total })}\n`);
process.exit(0);
