import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parsePlatform } from '../image/resolve.js';
import { DEFAULT_LIMITS } from '../image/layer.js';
import { defaultCacheDir, FileLayerCache, noCache } from '../inventory/cache.js';
import { inventoryImage } from '../inventory/inventory-image.js';
import { renderSbom, type SbomFormat } from '../sbom/index.js';
import { dbCommand } from './db.js';
import { progressReporter } from './progress.js';
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

async function inventoryFor(image: string, opts: ImageOptions) {
  const progress = opts.quiet ? undefined : progressReporter(process.stderr);
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
    await output(renderSbom(opts.format, images, { toolVersion: VERSION }), opts.output);
  });

  root.addCommand(dbCommand());

  return root;
}
