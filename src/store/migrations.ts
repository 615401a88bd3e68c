/**
 * The schema's migrations, in order. They run at start (`openDatabase`) through Kysely's Migrator,
 * which records what ran in `kysely_migration` and takes a lock, so two processes starting at once
 * on one PostgreSQL migrate it once. Column kinds are kept to what both databases share (see
 * schema.ts); the only dialect difference is how an id is generated.
 */
import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import type { Dialect } from './database.js';

type AnyDb = Kysely<unknown>;

function migrations(dialect: Dialect): Record<string, Migration> {
  const idType = dialect === 'postgres' ? 'serial' : 'integer';
  const id = (c: ColumnDefinitionBuilder) =>
    dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement();
  const real = dialect === 'postgres' ? 'double precision' : 'real';

  return {
    '0001_initial': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('users')
          .addColumn('id', idType, id)
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('tokens')
          .addColumn('id', idType, id)
          .addColumn('user_id', 'integer', (c) =>
            c.notNull().references('users.id').onDelete('cascade'),
          )
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('token_prefix', 'text', (c) => c.notNull())
          .addColumn('read_only', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('expires_at', 'text')
          .addColumn('last_used_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('projects')
          .addColumn('id', idType, id)
          .addColumn('path', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('scanning_enabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('supported_tags', 'text', (c) => c.notNull().defaultTo('["latest"]'))
          .addColumn('daily_limit', 'integer', (c) => c.notNull().defaultTo(50))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('members')
          .addColumn('project_id', 'integer', (c) =>
            c.notNull().references('projects.id').onDelete('cascade'),
          )
          .addColumn('user_id', 'integer', (c) =>
            c.notNull().references('users.id').onDelete('cascade'),
          )
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('members_pk', ['project_id', 'user_id'])
          .execute();

        await db.schema
          .createTable('registries')
          .addColumn('id', idType, id)
          .addColumn('project_id', 'integer', (c) =>
            c.references('projects.id').onDelete('cascade'),
          )
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('username', 'text')
          .addColumn('password', 'text')
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('registry_events')
          .addColumn('id', idType, id)
          .addColumn('registry_id', 'integer', (c) =>
            c.references('registries.id').onDelete('set null'),
          )
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text')
          .addColumn('action', 'text')
          .addColumn('media_type', 'text')
          .addColumn('repository', 'text')
          .addColumn('tag', 'text')
          .addColumn('digest', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('project_id', 'integer', (c) =>
            c.references('projects.id').onDelete('cascade'),
          )
          .addColumn('scan_id', 'integer')
          .execute();
        await db.schema
          .createIndex('registry_events_project')
          .on('registry_events')
          .columns(['project_id', 'id'])
          .execute();

        await db.schema
          .createTable('scans')
          .addColumn('id', idType, id)
          .addColumn('project_id', 'integer', (c) =>
            c.notNull().references('projects.id').onDelete('cascade'),
          )
          .addColumn('registry_id', 'integer', (c) =>
            c.references('registries.id').onDelete('set null'),
          )
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('tag', 'text')
          .addColumn('digest', 'text')
          .addColumn('trigger', 'text', (c) => c.notNull())
          .addColumn('report_type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('finished_at', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('package_count', 'integer')
          .addColumn('finding_count', 'integer')
          .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
          .execute();
        await db.schema
          .createIndex('scans_project_created')
          .on('scans')
          .columns(['project_id', 'created_at'])
          .execute();
        await db.schema
          .createIndex('scans_image')
          .on('scans')
          .columns(['project_id', 'repository', 'tag', 'digest', 'status'])
          .execute();

        await db.schema
          .createTable('scan_logs')
          .addColumn('id', idType, id)
          .addColumn('scan_id', 'integer', (c) =>
            c.notNull().references('scans.id').onDelete('cascade'),
          )
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('level', 'text', (c) => c.notNull())
          .addColumn('message', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('scan_logs_scan')
          .on('scan_logs')
          .columns(['scan_id', 'id'])
          .execute();

        await db.schema
          .createTable('sboms')
          .addColumn('scan_id', 'integer', (c) =>
            c.primaryKey().references('scans.id').onDelete('cascade'),
          )
          .addColumn('project_id', 'integer', (c) =>
            c.notNull().references('projects.id').onDelete('cascade'),
          )
          .addColumn('digest', 'text')
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('sbom_occurrences')
          .addColumn('id', idType, id)
          .addColumn('project_id', 'integer', (c) =>
            c.notNull().references('projects.id').onDelete('cascade'),
          )
          .addColumn('scan_id', 'integer', (c) =>
            c.notNull().references('scans.id').onDelete('cascade'),
          )
          .addColumn('component_name', 'text', (c) => c.notNull())
          .addColumn('component_version', 'text', (c) => c.notNull())
          .addColumn('package_type', 'text', (c) => c.notNull())
          .addColumn('purl', 'text', (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('digest', 'text')
          .addColumn('layer', 'text')
          .addColumn('path', 'text')
          .addColumn('source_type', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('sbom_occurrences_scan')
          .on('sbom_occurrences')
          .columns(['scan_id'])
          .execute();
        await db.schema
          .createIndex('sbom_occurrences_component')
          .on('sbom_occurrences')
          .columns(['project_id', 'component_name'])
          .execute();

        await db.schema
          .createTable('layer_cache')
          .addColumn('layer_digest', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('layer_cache_pk', ['layer_digest', 'key'])
          .execute();

        await db.schema
          .createTable('vulnerabilities')
          .addColumn('id', idType, id)
          .addColumn('project_id', 'integer', (c) =>
            c.notNull().references('projects.id').onDelete('cascade'),
          )
          .addColumn('report_type', 'text', (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('tag', 'text', (c) => c.notNull())
          .addColumn('package_name', 'text', (c) => c.notNull())
          .addColumn('advisory_id', 'text', (c) => c.notNull())
          .addColumn('package_type', 'text', (c) => c.notNull())
          .addColumn('package_version', 'text', (c) => c.notNull())
          .addColumn('purl', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('cvss_vector', 'text')
          .addColumn('cvss_score', real)
          .addColumn('identifiers', 'text', (c) => c.notNull())
          .addColumn('cve', 'text')
          .addColumn('title', 'text')
          .addColumn('description', 'text')
          .addColumn('links', 'text', (c) => c.notNull())
          .addColumn('fixed_version', 'text')
          .addColumn('fix_state', 'text', (c) => c.notNull())
          .addColumn('has_fix', 'integer', (c) => c.notNull())
          .addColumn('digest', 'text')
          .addColumn('os', 'text')
          .addColumn('layer', 'text')
          .addColumn('path', 'text')
          .addColumn('explanation', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('dismissal_reason', 'text')
          .addColumn('comment', 'text')
          .addColumn('no_longer_detected', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('first_detected_at', 'text', (c) => c.notNull())
          .addColumn('last_detected_at', 'text', (c) => c.notNull())
          .addColumn('last_scan_id', 'integer', (c) =>
            c.references('scans.id').onDelete('set null'),
          )
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('vulnerabilities_identity', [
            'project_id',
            'report_type',
            'repository',
            'tag',
            'package_name',
            'advisory_id',
          ])
          .execute();
        await db.schema
          .createIndex('vulnerabilities_list')
          .on('vulnerabilities')
          .columns(['project_id', 'report_type', 'severity'])
          .execute();

        await db.schema
          .createTable('vulnerability_history')
          .addColumn('id', idType, id)
          .addColumn('vulnerability_id', 'integer', (c) =>
            c.notNull().references('vulnerabilities.id').onDelete('cascade'),
          )
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('from_state', 'text')
          .addColumn('to_state', 'text')
          .addColumn('dismissal_reason', 'text')
          .addColumn('comment', 'text')
          .addColumn('scan_id', 'integer')
          .execute();
        await db.schema
          .createIndex('vulnerability_history_vulnerability')
          .on('vulnerability_history')
          .columns(['vulnerability_id', 'id'])
          .execute();

        await db.schema
          .createTable('jobs')
          .addColumn('id', idType, id)
          .addColumn('queue', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('run_at', 'text', (c) => c.notNull())
          .addColumn('lease_until', 'text')
          .addColumn('locked_by', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .execute();
        await db.schema
          .createIndex('jobs_ready')
          .on('jobs')
          .columns(['queue', 'status', 'run_at'])
          .execute();

        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_registry_secret_index': {
      // registry events authenticate by looking the secret's sha256 up (registries.ts)
      async up(db: AnyDb) {
        await db.schema
          .createIndex('registries_secret_hash')
          .on('registries')
          .column('secret_hash')
          .execute();
      },
    },
  };
}

export class StaticMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(migrations(this.dialect));
  }
}
