/**
 * Wraps an async function so that calls made while one is running share its result: many
 * requests meeting a 401 at once cause exactly one refresh.
 */
export function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    if (!running) {
      running = run().finally(() => {
        running = null;
      });
    }
    return running;
  };
}
