import { openLocalSource } from './local.js';
import { formatReference, parseReference } from './reference.js';
import type { RegistryOptions } from './registry.js';
import type { ImageSource } from './types.js';

/** Open any image reference in transport syntax (see reference.ts). */
export async function openSource(
  reference: string,
  registry: RegistryOptions = {},
): Promise<ImageSource> {
  const ref = parseReference(reference);
  if (ref.transport === 'docker') {
    // loaded on demand: the HTTP client is a third of the CLI's start-up time, and local
    // images never need it
    const { openRegistrySource } = await import('./registry.js');
    return openRegistrySource(ref, registry);
  }
  return openLocalSource(ref, formatReference(ref));
}
