import { testImages } from './images.js';

/**
 * vitest globalSetup: prepares, once per run and before any test file, what many tests share.
 * Add further steps here (each idempotent and cached across runs where it is expensive).
 */
export default async function setup(): Promise<void> {
  // the real test images (test/images/build.sh); built on first use, then reused machine-wide
  await testImages();
}
