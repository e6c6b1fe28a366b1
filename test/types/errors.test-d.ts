import { describe, expectTypeOf, test } from 'vitest';
import { ERROR_CODES, ProxyStoreError, RedisUnreachableError, StoreClosedError, type ErrorCode } from '../../src/index.js';

declare const error: unknown;

describe('error codes', () => {
  test('an error and its class carry a code of the table, so a misspelt code does not compile', () => {
    expectTypeOf(new StoreClosedError('s', 'get').code).toEqualTypeOf<ErrorCode>();
    expectTypeOf(RedisUnreachableError.code).toEqualTypeOf<ErrorCode>();
    expectTypeOf(ERROR_CODES.StoreClosedError).toEqualTypeOf<'PS_STORE_CLOSED'>();
    expectTypeOf<'PS_STORE_CLOSED'>().toExtend<ErrorCode>();
    if (error instanceof ProxyStoreError) {
      expectTypeOf(error.code === 'PS_STORE_CLOSED').toEqualTypeOf<boolean>();
      // @ts-expect-error -- no such code: the comparison has no overlap
      expectTypeOf(error.code === 'PS_STORE_CLOSD').toEqualTypeOf<boolean>();
    }
  });
});
