/**
 * A consumer process of the streams benchmark: argv = redis port, stream
 * prefix, group, mode ('value': the bytes are in the event, base64; 'proxy':
 * the event holds a proxy, of a Redis or a peer store; the peer secret comes from
 * PROXYSTORE_PEER_SECRET). Reads every item (sums it) until the producer
 * ends the topic, then prints how many it handled and when it finished each
 * (ms on the machine's clock, which every process of the bench shares). It
 * stays up while other lanes are clocked, so an idle read blocks for a second
 * rather than asking Redis again every few milliseconds (a read returns as
 * soon as a message comes, whatever its bound). Both
 * ways reuse the memory of an item done with for the next, as a consumer
 * keeping nothing past its loop step may: by value one buffer the events are
 * decoded into, by proxy `releaseItems`.
 */
import { proxyReviver } from '../../../src/index.js';
import '../../../runtime/connectors/peer.js';
import '../../../runtime/connectors/redis.js';
import { RedisStreamSubscriber } from '../../../runtime/stream/redis.js';
import { StreamConsumer } from '../../../runtime/stream/stream.js';

const [port, prefix, group, mode] = process.argv.slice(2) as [string, string, string, 'value' | 'proxy'];
const subscriber = new RedisStreamSubscriber('items', { connection: { host: '127.0.0.1', port: Number(port) }, prefix, group, blockMs: 1000 });
let handled = 0;
const stamps: number[] = [];
const handledOne = (): void => {
  handled += 1;
  stamps.push(performance.timeOrigin + performance.now());
};
let total = 0;
const sum = (data: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < data.length; i += 512) s += data[i] as number;
  return s;
};
process.stdout.write('ready\n');
if (mode === 'proxy') {
  for await (const item of new StreamConsumer<Float64Array>(subscriber, { releaseItems: true })) {
    total += sum(item);
    handledOne();
  }
} else {
  let decoded = Buffer.alloc(0);
  for await (const message of subscriber) {
    const event = JSON.parse(message.data, proxyReviver()) as { end?: true; b64?: string };
    await message.ack?.();
    if (event.b64 === undefined) continue;
    const size = Buffer.byteLength(event.b64, 'base64');
    if (decoded.byteLength < size) decoded = Buffer.allocUnsafeSlow(size);
    const written = decoded.write(event.b64, 'base64');
    total += sum(new Float64Array(decoded.buffer, decoded.byteOffset, written / 8));
    handledOne();
  }
}
process.stdout.write(`${JSON.stringify({ handled, total, stamps })}\n`);
process.exit(0);
