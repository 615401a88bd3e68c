import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parsePlatform } from '../image/resolve.js';
import { DEFAULT_LIMITS } from '../image/layer.js';
import { defaultCacheDir, FileLayerCache, noCache } from '../inventory/cache.js';
import { defaultAdvisoryDbPath } from '../advisories/store.js';
import type { SeverityLevel } from '../match/types.js';
import { REPORT_FORMATS, type ReportFormat, type ScanReport } from '../report/types.js';
import { SEVERITY_LEVELS } from '../report/common.js';
import type { SbomFormat } from '../sbom/index.js';
import { dbCommand } from './db.js';
import { progressReporter } from './progress.js';
import { serveCommand } from './serve.js';
import { VERSION } from '../version.js';

function byteSize(value: string): number {
  const m = /^(\d+)\s*([kmgt]i?b?)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a size such as 512MiB or 2GiB');
  const unit = (m[2] ?? '').toLowerCase().replace(/i?b$/, '');
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[unit] ?? 0;
  return Number(m[1]) * 1024 ** power;
}

interface ImageOptions {
  platform?: string;
  username?: string;
  password?: string;
  dockerConfig?: string;
  insecure?: boolean;
  cache: boolean;
  cacheDir?: string;
  maxLayerSize: number;
  maxFileSize: number;
  quiet?: boolean;
}

/** Options every command that reads an image shares. */
function imageOptions(cmd: Command): Command {
  return cmd
    .option(
      '--platform <os/arch[/variant]|all>',
      'platform to scan in a multi-platform image (default linux/amd64); a single-platform image must match it when given',
    )
    .option('--username <user>', 'registry user name')
    .option('--password <password>', 'registry password (or set REGSCAN_PASSWORD)')
    .option('--docker-config <file>', 'Docker config.json with registry credentials')
    .option('--insecure', 'use plain HTTP to the registry')
    .option('--no-cache', 'read every layer, do not use or fill the layer cache')
    .option('--cache-dir <dir>', 'layer cache directory', join(defaultCacheDir(), 'layers'))
    .addOption(
      new Option('--max-layer-size <bytes>', 'most bytes one layer may decompress to')
        .argParser(byteSize)
        .default(DEFAULT_LIMITS.maxLayerBytes, '16GiB'),
    )
    .addOption(
      new Option('--max-file-size <bytes>', 'largest package database file read')
        .argParser(byteSize)
        .default(DEFAULT_LIMITS.maxFileBytes, '256MiB'),
    )
    .option('-q, --quiet', 'no progress output');
}

interface ScanOptions extends ImageOptions {
  sbom?: string;
  format: ReportFormat;
  severity?: SeverityLevel[];
  ignoreUnfixed?: boolean;
  exitCode: number;
  output?: string;
  db: string;
  upload?: string;
  project?: string;
  token?: string;
  repository?: string;
  tag?: string;
}

/** The base URL of a regscan service: http(s), no query; without a trailing slash. */
function serviceUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected the service URL, such as https://regscan.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http:// or https:// URL');
  if (url.search || url.hash || url.username || url.password)
    throw new InvalidArgumentError(
      "expected the service's base URL only (no query, fragment or user)",
    );
  return url.toString().replace(/\/+$/, '');
}

function severityList(value: string): SeverityLevel[] {
  const list = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const bad = list.filter((s) => !(SEVERITY_LEVELS as readonly string[]).includes(s));
  if (bad.length > 0)
    throw new InvalidArgumentError(
      `unknown severity ${bad.join(', ')} (use ${SEVERITY_LEVELS.join(', ')})`,
    );
  return list as SeverityLevel[];
}

function exitCode(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 255)
    throw new InvalidArgumentError('expected an exit code 0-255');
  return n;
}

async function inventoryFor(image: string, opts: ImageOptions) {
  const progress = opts.quiet ? undefined : progressReporter(process.stderr);
  const { inventoryImage } = await import('../inventory/inventory-image.js');
  try {
    return await inventoryImage(image, {
      platform: opts.platform ? parsePlatform(opts.platform) : undefined,
      registry: {
        username: opts.username,
        password: opts.password ?? process.env.REGSCAN_PASSWORD,
        dockerConfigPath: opts.dockerConfig,
        insecure: opts.insecure ?? false,
      },
      cache: opts.cache ? new FileLayerCache(opts.cacheDir) : noCache,
      limits: { maxLayerBytes: opts.maxLayerSize, maxFileBytes: opts.maxFileSize },
      onEvent: progress ? (e) => progress.onEvent(e) : undefined,
    });
  } finally {
    progress?.stop();
  }
}

async function output(text: string, file: string | undefined): Promise<void> {
  if (file) await writeFile(file, text);
  else process.stdout.write(text);
}

export function program(): Command {
  const root = new Command('regscan')
    .description('Scan container images for known vulnerabilities')
    .version(VERSION)
    .showHelpAfterError();

  imageOptions(
    root
      .command('sbom')
      .description(
        'list the packages of an image as an SBOM\n\nIMAGE: docker://host/repo:tag, host/repo@sha256:…, oci:DIR[:tag], oci-archive:FILE[:tag], docker-archive:FILE',
      )
      .argument('<image>', 'image reference')
      .addOption(
        new Option('-f, --format <format>', 'output format')
          .choices(['cyclonedx', 'spdx-json', 'json'])
          .default('cyclonedx'),
      )
      .option('-o, --output <file>', 'write to a file instead of standard output'),
  ).action(async (image: string, opts: ImageOptions & { format: SbomFormat; output?: string }) => {
    const images = await inventoryFor(image, opts);
    const { renderSbom } = await import('../sbom/index.js');
    await output(renderSbom(opts.format, images, { toolVersion: VERSION }), opts.output);
  });

  imageOptions(
    root
      .command('scan')
      .description(
        'scan an image, or a CycloneDX SBOM of one, for known vulnerabilities in the advisory database',
      )
      .argument('[image]', 'image reference (as for sbom); omit with --sbom')
      .option('--sbom <file>', 'match a CycloneDX SBOM instead of reading an image')
      .addOption(
        new Option('-f, --format <format>', 'output format')
          .choices([...REPORT_FORMATS])
          .default('table'),
      )
      .option(
        '--severity <list>',
        `report only these severities, comma-separated (${SEVERITY_LEVELS.join(', ')})`,
        severityList,
      )
      .option('--ignore-unfixed', 'report only vulnerabilities with a fixed version')
      .addOption(
        new Option('--exit-code <n>', 'exit with this code when vulnerabilities are reported')
          .argParser(exitCode)
          .default(0),
      )
      .option('-o, --output <file>', 'write to a file instead of standard output')
      .option(
        '--db <file>',
        'advisory database (fill it with regscan db update)',
        defaultAdvisoryDbPath(),
      )
      .addOption(
        new Option(
          '--upload <url>',
          'also send the SBOM to a regscan service (needs --project and a token); a refused upload exits with code 2',
        ).argParser(serviceUrl),
      )
      .option('--project <id|path>', 'the service project to upload to (group/app)')
      .option('--token <token>', 'access token for --upload (or set REGSCAN_TOKEN)')
      .option(
        '--repository <path>',
        "repository to report the image under (default: the image's path in its registry, or the project's path for a local image)",
      )
      .option('--tag <tag>', "tag to report the image under (default: the reference's tag)"),
  ).action(async (image: string | undefined, opts: ScanOptions) => {
    if (!image === !opts.sbom) throw new Error('give either an IMAGE or --sbom FILE');
    const token = opts.token ?? (process.env.REGSCAN_TOKEN || undefined);
    if (opts.upload !== undefined) {
      if (opts.project === undefined) throw new Error('--upload needs --project PATH');
      if (token === undefined) throw new Error('--upload needs --token TOKEN or REGSCAN_TOKEN');
    } else if (
      opts.project !== undefined ||
      opts.repository !== undefined ||
      opts.tag !== undefined
    ) {
      throw new Error('--project, --repository and --tag go with --upload URL');
    }
    const [
      { fromCycloneDX },
      { AdvisoryStore },
      { matchInventory },
      { filterFindings, renderReport },
    ] = await Promise.all([
      import('../sbom/read-cyclonedx.js'),
      import('../advisories/store.js'),
      import('../match/match.js'),
      import('../report/index.js'),
    ]);
    const images = opts.sbom
      ? fromCycloneDX(JSON.parse(await readFile(opts.sbom, 'utf8')) as unknown)
      : await inventoryFor(image!, opts);
    if (!existsSync(opts.db)) {
      throw new Error(
        `the advisory database ${opts.db} does not exist: run "regscan db update" first`,
      );
    }
    const store = new AdvisoryStore(opts.db, { readonly: true });
    let reports: ScanReport[];
    try {
      if (store.status().advisories === 0) {
        process.stderr.write(
          `regscan: warning: the advisory database ${opts.db} is empty; run "regscan db update" first\n`,
        );
      }
      reports = images.map((inv) => {
        const { findings, warnings } = matchInventory(inv.inventory, store);
        if (!opts.quiet) for (const w of warnings) process.stderr.write(`regscan: warning: ${w}\n`);
        return {
          image: inv,
          findings: filterFindings(findings, {
            severities: opts.severity,
            ignoreUnfixed: opts.ignoreUnfixed,
          }),
        };
      });
    } finally {
      store.close();
    }
    const color = opts.format === 'table' && !opts.output && process.stdout.isTTY === true;
    await output(renderReport(opts.format, reports, { toolVersion: VERSION, color }), opts.output);
    if (opts.exitCode !== 0 && reports.some((r) => r.findings.length > 0))
      process.exitCode = opts.exitCode;

    if (opts.upload !== undefined) {
      const { UploadError, uploadSbom, uploadSummary } = await import('./upload.js');
      const target = {
        url: opts.upload,
        project: opts.project!,
        token: token!,
        ...(opts.repository !== undefined ? { repository: opts.repository } : {}),
        ...(opts.tag !== undefined ? { tag: opts.tag } : {}),
      };
      if (images.length !== 1) {
        process.stderr.write(
          `regscan: upload failed: --upload sends one image and this scan read ${images.length}; choose one with --platform\n`,
        );
        process.exitCode = 2;
        return;
      }
      try {
        const result = await uploadSbom(target, image, images[0]!);
        process.stderr.write(`regscan: ${uploadSummary(target, result)}\n`);
      } catch (e) {
        if (!(e instanceof UploadError)) throw e;
        process.stderr.write(`regscan: upload failed: ${e.message}\n`);
        process.exitCode = 2;
      }
    }
  });

  root.addCommand(dbCommand());
  root.addCommand(serveCommand());

  return root;
}
