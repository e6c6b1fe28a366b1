import { ProxyStoreError } from '../runtime/errors.js';

/** A project the command cannot work on as it is; the message says what to do. The CLI prints it and exits with 1. */
export class CliError extends ProxyStoreError {
  override name = 'CliError';
}
