import { testImages } from './images.js';
import { ensureTestPostgres } from './postgres.js';

/**
 * vitest globalSetup: prepares, once per run and before any test file, what many tests share.
 * Add further steps here (each idempotent and cached across runs where it is expensive).
 * Returns the teardown.
 */
export default async function setup(): Promise<() => Promise<void>> {
  // PostgreSQL for the store, queue and service tests: REGSCAN_TEST_DATABASE_URL or a throwaway
  // server (its URL goes to the test workers through the environment)
  const stopPostgres = await ensureTestPostgres();
  // the real test images (test/images/build.sh); built on first use, then reused machine-wide
  await testImages();
  return async () => {
    await stopPostgres?.();
  };
}
