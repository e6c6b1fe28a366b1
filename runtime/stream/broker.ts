/**
 * The message-broker side of streams (ProxyStore's publisher/subscriber
 * shims): small events go through a broker, bulk data through a store. A
 * broker moves opaque strings on named topics and knows nothing of stores.
 */
import { ERROR_CODES, ProxyStoreError, type ErrorCode } from '../errors.js';

/**
 * A send waited for room under a backpressure bound, and no consumer
 * acknowledged anything for the publisher's stall bound: its consumers are
 * gone or stuck.
 */
export class StreamStalledError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.StreamStalledError;
  override name = 'StreamStalledError';
}

/** One message as a subscriber hands it out. */
export interface BrokerMessage {
  readonly topic: string;
  readonly data: string;
  /**
   * Present where the broker redelivers unacknowledged messages (Redis
   * Streams): call it once the message is handled for good.
   */
  readonly ack?: () => Promise<void>;
  /**
   * True when the broker hands out again a message that an earlier consumer
   * took and never acknowledged (it died or froze): that consumer may have
   * finished some of its items already, and evicted their objects.
   */
  readonly redelivered?: boolean;
}

export interface Publisher {
  /** Resolves once the broker took the message; may wait when the broker applies backpressure. */
  send(topic: string, data: string): Promise<void>;
  /**
   * Present where not every consumer sees every message (consumers sharing
   * work in a Redis Streams group): marks the topic finished for all of them,
   * beside the end event one of them receives.
   */
  end?(topic: string): Promise<void>;
  close(): Promise<void>;
}

export interface Subscriber extends AsyncIterable<BrokerMessage> {
  /** The topics it receives. */
  readonly topics: readonly string[];
  /**
   * True where the subscriber ends its own iteration once the producer has
   * ended every topic and nothing is left for it (Redis Streams); otherwise
   * the consumer stops at the end event of its last topic.
   */
  readonly endsByItself?: boolean;
  /** Ends the iteration of this subscriber; messages not yet handed out stay with the broker where it keeps them. */
  close(): Promise<void>;
}
