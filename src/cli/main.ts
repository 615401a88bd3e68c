#!/usr/bin/env node
import { program } from './program.js';

try {
  await program().parseAsync(process.argv);
} catch (err) {
  // Expected failures (bad image, unreachable registry) get one clear line, not a stack trace.
  const e = err as Error;
  process.stderr.write(
    `regscan: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}\n`,
  );
  if (process.env.REGSCAN_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
}
