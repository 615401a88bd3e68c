/**
 * The service's configuration: defaults, then a config file (YAML or JSON), then REGSCAN_*
 * environment variables, validated at start (loadConfig).
 */

export interface RegistryConfig {
  name: string;
  /** Base URL regscan pulls from (`https://registry.example.com`, `http://127.0.0.1:5000`). */
  url: string;
  username?: string;
  password?: string;
  /** The secret events must carry in their Authorization header. */
  secret: string;
}

export interface ServiceConfig {
  /** Where the SQLite database, the advisory store and caches live. Default `./data`. */
  dataDir: string;
  /** `postgres://…` to keep all state in PostgreSQL; default the SQLite file `<dataDir>/regscan.db`. */
  databaseUrl?: string;
  host: string;
  port: number;
  /** Admin token to create at first start; else one is generated and printed once. */
  adminToken?: string;
  /** The advisory store file (`regscan db update --db` fills it). Default `<dataDir>/advisories.db`. */
  advisoryDb: string;
  /** Scan jobs run at once in this process; 0 runs no workers (API only). */
  workers: number;
  queue: {
    /** A running job's lease; renewed while the job runs. */
    leaseMs: number;
    maxAttempts: number;
    /** First retry delay; doubles per attempt. */
    backoffMs: number;
    /** How often idle workers look for jobs (they are also woken by enqueues in-process). */
    pollMs: number;
  };
  scan: {
    /** Platform scanned in a multi-platform image. */
    platform: string;
    /** Per-request registry timeout. */
    registryTimeoutMs: number;
    /** Registry client retries within one attempt. */
    registryRetries: number;
  };
  /** Registries defined in the config file (created or updated at start, as instance registries). */
  registries: RegistryConfig[];
}
