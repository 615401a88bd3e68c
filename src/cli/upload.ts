/**
 * `regscan scan IMAGE --upload URL --project PATH`: sends the CycloneDX SBOM of the scanned image
 * to a regscan service (`POST URL/api/v1/projects/<PATH>/reports?repository=…&tag=…`), which
 * matches it against its own advisories and records the findings under the report type
 * `container_scanning` (the CI tab of the project's Vulnerability Report).
 *
 * The image's repository is its path in its registry (`group/app` of
 * `registry.example.com/group/app:1.0`, as registry-triggered scans name it); an image read from
 * a local layout or archive has none and is reported under the project's path unless
 * `--repository` says otherwise. The tag is the reference's (or `--tag`).
 */
import type { ImageInventory } from '../inventory/types.js';
import { parseReference } from '../image/reference.js';
import { toCycloneDXString } from '../sbom/cyclonedx.js';
import { VERSION } from '../version.js';

export interface UploadOptions {
  /** Base URL of the service. */
  url: string;
  /** Project id or path. */
  project: string;
  token: string;
  repository?: string;
  tag?: string;
}

/** The upload went wrong: the server refused it, or could not be reached (exit code 2). */
export class UploadError extends Error {
  override readonly name = 'UploadError';
}

export interface UploadResult {
  scan_id: number;
  report_type: string;
  repository: string;
  tag: string;
  finding_count: number;
  vulnerabilities?: {
    new: number;
    existing: number;
    no_longer_detected: number;
    redetected: number;
  };
  [key: string]: unknown;
}

/** Repository and tag the image is reported under. */
export function uploadName(
  reference: string | undefined,
  image: ImageInventory,
  options: Pick<UploadOptions, 'project' | 'repository' | 'tag'>,
): { repository: string; tag: string | undefined } {
  let repository = options.repository;
  let tag = options.tag;
  if (reference !== undefined) {
    const ref = parseReference(reference);
    if (ref.transport === 'docker') {
      repository ??= ref.repository;
      tag ??= ref.tag;
    } else {
      tag ??= ref.tag;
    }
  }
  tag ??= image.image.tag;
  return { repository: repository ?? options.project, tag };
}

function messageOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const base = e instanceof Error ? e.message : String(e);
  return cause?.code || cause?.message ? `${base} (${cause.code ?? cause.message})` : base;
}

/** Sends the SBOM of `image`; the server's answer, or an UploadError with its reason. */
export async function uploadSbom(
  options: UploadOptions,
  reference: string | undefined,
  image: ImageInventory,
): Promise<UploadResult> {
  const { repository, tag } = uploadName(reference, image, options);
  if (tag === undefined) {
    throw new UploadError(
      `the image reference names no tag to report it under: pass --tag (e.g. --tag latest)`,
    );
  }
  const query = new URLSearchParams({ repository, tag });
  const target = `${options.url}/api/v1/projects/${encodeURIComponent(options.project)}/reports?${query.toString()}`;
  const body = toCycloneDXString([image], { toolVersion: VERSION });
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.token}`,
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': `regscan/${VERSION}`,
      },
      body,
      signal: AbortSignal.timeout(10 * 60_000),
    });
  } catch (e) {
    throw new UploadError(`cannot reach ${options.url}: ${messageOf(e)}`);
  }
  const text = await response.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error =
      typeof parsed === 'object' && parsed !== null && 'error' in parsed
        ? String(parsed.error)
        : text.trim().slice(0, 500) || response.statusText;
    throw new UploadError(`the server answered ${response.status}: ${error}`);
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new UploadError(`the server answered ${response.status} without a JSON result`);
  }
  return parsed as UploadResult;
}

/** One line for the terminal. */
export function uploadSummary(options: UploadOptions, result: UploadResult): string {
  const v = result.vulnerabilities;
  const changes = v
    ? ` (${v.new} new, ${v.existing} existing, ${v.no_longer_detected} no longer detected${v.redetected ? `, ${v.redetected} detected again` : ''})`
    : '';
  return (
    `uploaded ${result.repository}:${result.tag} to ${options.url} project ${options.project}: ` +
    `scan ${result.scan_id}, ${result.finding_count} vulnerabilit${result.finding_count === 1 ? 'y' : 'ies'}${changes}, report type ${result.report_type}`
  );
}
