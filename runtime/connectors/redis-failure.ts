/**
 * A failed ioredis command as a typed error, shared by the Redis connector
 * and the Redis stream brokers: a RedisUnreachableError when the server did
 * not answer in time or the connection is down (ioredis' own words then say
 * less, "max retries per request…"), else a ConnectorError.
 */
import type { Redis } from 'ioredis';
import { ConnectorError, RedisUnreachableError, messageOf } from '../errors.js';

export interface RedisFailureContext {
  /** 'host:port'. */
  readonly address: string;
  /** Who failed, for a ConnectorError: 'redis host:port', 'redis stream broker'. */
  readonly name: string;
  /** What bounds a command, for a timeout: '10000 ms (commandTimeoutMs)'. */
  readonly timeout: string;
  /** Why the connection last failed, when the caller keeps it: says more than the connection's status. */
  readonly connectionError?: Error | undefined;
  /** Put before the reason: `topic 't'`. */
  readonly about?: string;
  readonly key?: unknown;
}

export function redisFailure(client: Redis, operation: string, cause: unknown, context: RedisFailureContext): ConnectorError {
  const message = messageOf(cause);
  const timedOut = message === 'Command timed out';
  let reason = timedOut ? `no reply within ${context.timeout}` : message;
  const unreachable = client.status !== 'ready';
  if (unreachable) {
    const connection = context.connectionError?.message ?? `connection ${client.status}`;
    const gaveUp = cause instanceof Error && cause.name === 'MaxRetriesPerRequestError';
    reason = `not connected (${connection})${gaveUp || message === connection ? '' : `: ${reason}`}`;
  }
  const said = context.about === undefined ? reason : `${context.about}: ${reason}`;
  const options = { cause, key: context.key };
  // Connected, but no answer: a frozen or overloaded server, as unreachable as a stopped one.
  if (unreachable || timedOut) return new RedisUnreachableError(context.address, operation, said, options);
  return new ConnectorError(context.name, operation, said, options);
}
