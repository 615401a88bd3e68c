/**
 * `regscan serve`: runs the service (HTTP API, registry event receiver, queue and scan workers)
 * until SIGINT or SIGTERM. Configuration: defaults < config file (`--config` or REGSCAN_CONFIG)
 * < REGSCAN_* environment variables < the flags here (src/service/config.ts). An invalid
 * configuration ends the command with every problem listed and exit code 1, no stack trace.
 *
 * The service modules load only when the command runs (the CLI's other commands stay light).
 */
import { Command } from 'commander';

interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  dataDir?: string;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'run the regscan service: registry events, scan queue and workers, the vulnerability API\n\n' +
        'Environment: REGSCAN_CONFIG, REGSCAN_DATA_DIR, REGSCAN_DATABASE_URL, REGSCAN_HOST, ' +
        'REGSCAN_PORT, REGSCAN_ADMIN_TOKEN, REGSCAN_WORKERS, REGSCAN_ADVISORY_DB, REGSCAN_ALLOW_PRIVATE_NETWORKS. Flags win over ' +
        'the environment, which wins over the config file.',
    )
    .option('--config <file>', 'YAML or JSON config file (default $REGSCAN_CONFIG)')
    .option('--port <n>', 'port to listen on (default 8080)')
    .option('--host <address>', 'address to listen on (default 0.0.0.0)')
    .option(
      '--data-dir <dir>',
      'where the SQLite database and the advisory store live (default ./data)',
    )
    .action(async (opts: ServeOptions) => {
      const { ConfigError, loadConfig } = await import('../service/config.js');
      let config;
      try {
        config = loadConfig({
          ...(opts.config !== undefined ? { file: opts.config } : {}),
          flags: { port: opts.port, host: opts.host, dataDir: opts.dataDir },
        });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        process.stderr.write(`regscan: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      const [{ startService }, { DatabaseConfigError }] = await Promise.all([
        import('../service/service.js'),
        import('../store/database.js'),
      ]);
      let service;
      try {
        service = await startService(config);
      } catch (e) {
        // the database cannot be opened, the port is taken: one line, as for other failures
        if (
          e instanceof DatabaseConfigError ||
          (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ) {
          process.stderr.write(`regscan: cannot start: ${(e as Error).message}\n`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
      process.stdout.write(
        `regscan listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${service.port}\n` +
          `database: ${service.ctx.database.location} (${service.ctx.database.dialect})\n` +
          `advisories: ${config.advisoryDb}\n` +
          `workers: ${config.workers}\n`,
      );

      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals++;
          if (signals > 1) {
            process.stderr.write(`regscan: ${signal} again: exiting now\n`);
            process.exit(130);
          }
          process.stderr.write(`regscan: ${signal}: stopping (running scans may take a moment)\n`);
          service.stop().then(
            () => resolve(),
            (e: unknown) => {
              process.stderr.write(`regscan: stopping failed: ${(e as Error).message}\n`);
              process.exitCode = 1;
              resolve();
            },
          );
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      process.stderr.write('regscan: stopped\n');
      // everything is closed; do not let a stray handle keep the process alive
      process.exit();
    });
}
