/**
 * Reading what a registry tells us, with no database and no network: a request body becomes a list
 * of entries, each either an ImagePushedEvent candidate (a manifest push with a tag) or an entry
 * to ignore or reject, with the reason in words. Two formats:
 *
 * - the CNCF Distribution notification envelope `{ "events": [ … ] }` (media type
 *   `application/vnd.docker.distribution.events.v1+json`; GitLab's container registry sends the
 *   same), one entry per event;
 * - a Harbor webhook in its default format `{ "type": "PUSH_ARTIFACT", "event_data": { "resources":
 *   [ … ], "repository": { … } } }`, one entry per resource. Other Harbor types are ignored.
 *
 * Everything in a body is untrusted. Repository, tag and digest are checked against the
 * distribution grammar; other text is kept only when it is short printable ASCII, and quoted values
 * in reasons are escaped and cut short. Nothing here ever reads an event's `target.url`,
 * `request.host` or Harbor's `resource_url`: images are pulled from the configured registry only.
 */
import { isRepositoryName, isTag } from '../image/reference.js';

export type EventFormat = 'distribution' | 'harbor';

/** A manifest (or index) pushed with a tag: what the ImagePushed policy decides on. */
export interface ImagePushedEvent {
  format: EventFormat;
  /** The sender's event id (Distribution's `id`, the same on retried deliveries); null for Harbor. */
  externalId: string | null;
  action: 'push';
  /** The manifest's media type (Distribution); null when the sender does not say (Harbor). */
  mediaType: string | null;
  repository: string;
  tag: string;
  digest: string;
}

/** What could be read from an entry that is not a scan candidate (unreadable fields are null). */
export interface EventFields {
  format: EventFormat;
  externalId: string | null;
  action: string | null;
  mediaType: string | null;
  repository: string | null;
  tag: string | null;
  digest: string | null;
}

export type ParsedEntry =
  | { kind: 'candidate'; event: ImagePushedEvent }
  /** Well-formed but not for us: a pull, a blob push, a push by digest… */
  | { kind: 'ignored'; reason: string; fields: EventFields }
  /** Not well-formed: a field missing, of the wrong type or outside its grammar. */
  | { kind: 'malformed'; reason: string; fields: EventFields };

export type ParsedPayload =
  | { ok: true; format: EventFormat; entries: ParsedEntry[] }
  /** The body is neither format (or too big a batch): answer 400. */
  | { ok: false; error: string };

/** More events than this in one envelope is refused as a whole (Distribution sends one at a time). */
export const MAX_EVENTS_PER_ENVELOPE = 1000;

const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
/** Short printable ASCII: what we keep of free text such as ids and media types. */
const PRINTABLE = /^[\x21-\x7e]{1,255}$/;

/** Media types of what a scan can read: image manifests and indexes. */
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

const SCHEMA1_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

// the repository and tag grammar is the scanning core's (re-exported for this module's users)
export { isRepositoryName, isTag };

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** An untrusted value quoted for a reason: JSON-escaped, at most about 80 characters. */
export function quoted(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > 80 ? value.slice(0, 80) + '…' : value;
    return JSON.stringify(cut);
  }
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function printable(value: unknown): string | null {
  return typeof value === 'string' && PRINTABLE.test(value) ? value : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: a body's `__proto__` or `constructor` keys are never followed. */
function field(object: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/** Parses a request body. Never throws, whatever the body. */
export function parseRegistryPayload(body: unknown): ParsedPayload {
  if (!isObject(body)) {
    return { ok: false, error: `the body is ${quoted(body)}, not a JSON object: ${EXPECTED}` };
  }
  if (Object.hasOwn(body, 'events')) return parseDistribution(field(body, 'events'));
  if (Object.hasOwn(body, 'type') && Object.hasOwn(body, 'event_data')) return parseHarbor(body);
  return { ok: false, error: `unknown payload: ${EXPECTED}` };
}

const EXPECTED =
  'expected a Distribution notification envelope {"events": [...]} or a Harbor webhook {"type", "event_data"}';

// ---------------------------------------------------------------------------------------------
// CNCF Distribution

function parseDistribution(events: unknown): ParsedPayload {
  if (!Array.isArray(events)) {
    return { ok: false, error: `"events" is ${quoted(events)}, not an array` };
  }
  if (events.length > MAX_EVENTS_PER_ENVELOPE) {
    return {
      ok: false,
      error: `too many events in one envelope: ${events.length} (at most ${MAX_EVENTS_PER_ENVELOPE})`,
    };
  }
  return { ok: true, format: 'distribution', entries: events.map(parseDistributionEvent) };
}

function parseDistributionEvent(event: unknown, index: number): ParsedEntry {
  const fields: EventFields = {
    format: 'distribution',
    externalId: null,
    action: null,
    mediaType: null,
    repository: null,
    tag: null,
    digest: null,
  };
  const malformed = (reason: string): ParsedEntry => ({
    kind: 'malformed',
    reason: `event ${index}: ${reason}`,
    fields,
  });
  if (!isObject(event)) return malformed(`is ${quoted(event)}, not an object`);
  fields.externalId = printable(field(event, 'id'));

  const action = field(event, 'action');
  if (typeof action !== 'string' || action === '') return malformed('has no "action"');
  fields.action = printable(action);
  const target = field(event, 'target');
  if (!isObject(target)) return malformed('has no "target" object');

  const repository = field(target, 'repository');
  if (!isRepositoryName(repository)) {
    return malformed(
      repository === undefined
        ? 'has no "target.repository"'
        : `invalid repository name ${quoted(repository)}`,
    );
  }
  fields.repository = repository;

  const digest = field(target, 'digest');
  if (digest !== undefined) {
    if (!isDigest(digest)) return malformed(`invalid digest ${quoted(digest)}`);
    fields.digest = digest;
  }
  const tag = field(target, 'tag');
  if (tag !== undefined && tag !== '') {
    if (!isTag(tag)) return malformed(`invalid tag ${quoted(tag)}`);
    fields.tag = tag;
  }
  const mediaType = field(target, 'mediaType');
  if (mediaType !== undefined && typeof mediaType !== 'string') {
    return malformed(`"target.mediaType" is ${quoted(mediaType)}, not a string`);
  }
  fields.mediaType = printable(mediaType);

  const ignored = (reason: string): ParsedEntry => ({ kind: 'ignored', reason, fields });
  switch (action) {
    case 'push':
      break;
    case 'pull':
      return ignored(fields.tag ? `pull of ${repository}:${fields.tag}` : 'pull');
    case 'mount':
      return ignored('blob mount');
    case 'delete':
      return ignored('delete');
    default:
      return ignored(`unknown action ${quoted(action)}`);
  }

  if (mediaType === undefined || mediaType === '') {
    return malformed('push without "target.mediaType"');
  }
  if (!MANIFEST_MEDIA_TYPES.has(mediaType)) {
    if (SCHEMA1_MEDIA_TYPES.has(mediaType)) {
      return ignored(`Docker schema 1 manifests are not scanned (${mediaType})`);
    }
    if (mediaType === 'application/octet-stream' || /layer|config/.test(mediaType)) {
      return ignored(`blob push (${quoted(mediaType)})`);
    }
    return ignored(`not an image manifest (media type ${quoted(mediaType)})`);
  }
  if (fields.digest === null) return malformed('manifest push without "target.digest"');
  if (fields.tag === null) return ignored('push by digest: no tag');
  return {
    kind: 'candidate',
    event: {
      format: 'distribution',
      externalId: fields.externalId,
      action: 'push',
      mediaType,
      repository,
      tag: fields.tag,
      digest: fields.digest,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Harbor (default payload format)

function parseHarbor(body: Record<string, unknown>): ParsedPayload {
  const type = field(body, 'type');
  if (typeof type !== 'string' || type === '') {
    return { ok: false, error: `Harbor webhook "type" is ${quoted(type)}, not a string` };
  }
  const data = field(body, 'event_data');
  if (!isObject(data)) {
    return { ok: false, error: `Harbor webhook "event_data" is ${quoted(data)}, not an object` };
  }
  const resources = field(data, 'resources');
  if (resources !== undefined && !Array.isArray(resources)) {
    return {
      ok: false,
      error: `Harbor "event_data.resources" is ${quoted(resources)}, not an array`,
    };
  }
  if (Array.isArray(resources) && resources.length > MAX_EVENTS_PER_ENVELOPE) {
    return {
      ok: false,
      error: `too many resources in one webhook: ${resources.length} (at most ${MAX_EVENTS_PER_ENVELOPE})`,
    };
  }

  const fields: EventFields = {
    format: 'harbor',
    externalId: null,
    action: printable(type),
    mediaType: null,
    repository: null,
    tag: null,
    digest: null,
  };
  const repository = harborRepository(field(data, 'repository'));
  if (typeof repository === 'string') fields.repository = repository;

  if (type !== 'PUSH_ARTIFACT') {
    return {
      ok: true,
      format: 'harbor',
      entries: [{ kind: 'ignored', reason: `Harbor event ${quoted(type)} is not a push`, fields }],
    };
  }
  if (typeof repository !== 'string') {
    return {
      ok: true,
      format: 'harbor',
      entries: [{ kind: 'malformed', reason: repository.error, fields }],
    };
  }
  if (!resources || resources.length === 0) {
    return {
      ok: true,
      format: 'harbor',
      entries: [{ kind: 'malformed', reason: 'PUSH_ARTIFACT without resources', fields }],
    };
  }
  return {
    ok: true,
    format: 'harbor',
    entries: resources.map((r, i) => parseHarborResource(r, i, { ...fields }, repository)),
  };
}

/** `repo_full_name` (`project/name`), else `namespace` + `/` + `name`; checked by the grammar. */
function harborRepository(repository: unknown): string | { error: string } {
  if (!isObject(repository)) {
    return { error: `"event_data.repository" is ${quoted(repository)}, not an object` };
  }
  const full = field(repository, 'repo_full_name');
  const namespace = field(repository, 'namespace');
  const name = field(repository, 'name');
  let candidate: unknown = full;
  if (full === undefined || full === '') {
    candidate =
      typeof namespace === 'string' && typeof name === 'string' && namespace !== ''
        ? `${namespace}/${name}`
        : name;
  }
  if (!isRepositoryName(candidate)) {
    return {
      error:
        candidate === undefined
          ? 'no repository name in "event_data.repository"'
          : `invalid repository name ${quoted(candidate)}`,
    };
  }
  return candidate;
}

function parseHarborResource(
  resource: unknown,
  index: number,
  fields: EventFields,
  repository: string,
): ParsedEntry {
  const malformed = (reason: string): ParsedEntry => ({
    kind: 'malformed',
    reason: `resource ${index}: ${reason}`,
    fields,
  });
  if (!isObject(resource)) return malformed(`is ${quoted(resource)}, not an object`);
  const digest = field(resource, 'digest');
  if (!isDigest(digest)) {
    return malformed(digest === undefined ? 'has no "digest"' : `invalid digest ${quoted(digest)}`);
  }
  fields.digest = digest;
  const tag = field(resource, 'tag');
  if (tag === undefined || tag === '' || tag === null) {
    return { kind: 'ignored', reason: 'push by digest: no tag', fields };
  }
  if (!isTag(tag)) return malformed(`invalid tag ${quoted(tag)}`);
  fields.tag = tag;
  return {
    kind: 'candidate',
    event: {
      format: 'harbor',
      externalId: null,
      action: 'push',
      mediaType: null,
      repository,
      tag,
      digest,
    },
  };
}

/** The fields of an entry as the event log stores them. */
export function entryFields(entry: ParsedEntry): EventFields {
  if (entry.kind !== 'candidate') return entry.fields;
  const e = entry.event;
  return {
    format: e.format,
    externalId: e.externalId,
    action: e.action,
    mediaType: e.mediaType,
    repository: e.repository,
    tag: e.tag,
    digest: e.digest,
  };
}
