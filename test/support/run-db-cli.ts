/**
 * Runs `regscan db …` from source without the lead's program wiring: a root command holding only
 * dbCommand(), with main.ts's handling of errors (one line on stderr, exit code 1).
 */
import { Command } from 'commander';
import { dbCommand } from '../../src/cli/db.js';

try {
  await new Command('regscan').addCommand(dbCommand()).parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`regscan: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
