import { readFileSync } from 'node:fs';

/** regscan's version, from its package.json (read once; dist/ and src/ sit beside it alike). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
