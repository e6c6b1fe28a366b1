/**
 * A promise rejected with `error`, whatever was thrown, as an async function
 * would reject: for functions kept synchronous on their hot path (each async
 * layer costs promises and turns) that must still fail as promises do.
 */
export function rejection(error: unknown): Promise<never> {
  return Promise.resolve().then(() => {
    throw error;
  });
}
