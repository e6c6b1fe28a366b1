import { describe, expect, it } from 'vitest';
import { EarlyCancels, cancelChannel, cancelMessage } from '../../runtime/executors/bullmq/cancel.js';

describe('BullMQ cancel requests', () => {
  it('remember a cancel for a job not started yet, once, and forget the oldest beyond a thousand', () => {
    const early = new EarlyCancels();
    early.note('a', 'not needed');
    expect(early.take('a')).toBe('not needed');
    expect(early.take('a')).toBeUndefined();
    expect(early.take(undefined)).toBeUndefined();
    for (let i = 0; i <= 1000; i++) early.note(`job-${i}`, 'x');
    expect(early.take('job-0')).toBeUndefined();
    expect(early.take('job-1')).toBe('x');
    expect(early.take('job-1000')).toBe('x');
  });

  it('travel on a channel named after the queue and its prefix, as JSON', () => {
    expect(cancelChannel('q', undefined)).toBe('bull:q:ts-proxystore:cancel');
    expect(cancelChannel('q', 'app')).toBe('app:q:ts-proxystore:cancel');
    expect(JSON.parse(cancelMessage('7', 'too slow'))).toEqual({ jobId: '7', reason: 'too slow' });
  });
});
