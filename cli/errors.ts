import { ERROR_CODES, ProxyStoreError, type ErrorCode } from '../runtime/errors.js';

/** A project the command cannot work on as it is; the message says what to do. The CLI prints it and exits with 1. */
export class CliError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.CliError;
  override name = 'CliError';
}
