/**
 * `ts-proxystore/stream`: streams of proxies. Bulk data goes to a store,
 * small events through a broker; consumers get each item as a proxy. The
 * in-process `QueueBroker` is here; Redis brokers are in `ts-proxystore/stream/redis`.
 */
export { StreamStalledError, type BrokerMessage, type Publisher, type Subscriber } from './broker.js';
export { QueueBroker, type QueueBrokerOptions } from './queue-broker.js';
export {
  StreamClosedError,
  StreamConsumer,
  StreamProducer,
  type SendOptions,
  type StreamConsumerOptions,
  type StreamItem,
  type StreamMetadata,
  type StreamProducerOptions,
} from './stream.js';
