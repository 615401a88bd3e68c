/**
 * Parsing registry notifications: the real Distribution envelopes of test/fixtures/notifications
 * (captured from a real registry, see the README there), Harbor webhooks in their default format,
 * and hostile or malformed bodies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isDigest,
  isRepositoryName,
  isTag,
  MAX_EVENTS_PER_ENVELOPE,
  parseRegistryPayload,
  quoted,
  type ParsedEntry,
} from '../../src/service/registry-events.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'notifications');
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));

/** One line per entry: `candidate repo:tag@digest12` or `ignored: reason` / `malformed: reason`. */
function summary(entry: ParsedEntry): string {
  if (entry.kind === 'candidate') {
    const e = entry.event;
    return `candidate ${e.repository}:${e.tag}@${e.digest.slice(7, 19)}`;
  }
  return `${entry.kind}: ${entry.reason}`;
}

function entriesOf(body: unknown): ParsedEntry[] {
  const parsed = parseRegistryPayload(body);
  if (!parsed.ok) throw new Error(`not parsed: ${parsed.error}`);
  return parsed.entries;
}

describe('real Distribution 2.8.2 notifications', () => {
  it.each([
    ['manifest-push-tag', ['candidate group/project/base:bookworm@ac1e39eaf524']],
    ['manifest-push-second-tag', ['candidate group/project/app:latest@437cb2e95460']],
    ['index-push-tag', ['candidate group/project/multi:1.0@9eb1b6a21e48']],
    ['manifest-push-docker-v2', ['candidate group/project/base:bookworm-jq-v2s2@2b8efe39e8cc']],
    ['manifest-push-htpasswd-actor', ['candidate group/project/app:auth-1.0@c19f4d0fc036']],
    ['manifest-push-token-actor', ['candidate group/project/app:token-1.0@437cb2e95460']],
    ['manifest-push-buildah', ['candidate group/project/buildah-demo:1@8c4d1799889c']],
    ['manifest-push-by-digest', ['ignored: push by digest: no tag']],
    ['blob-push', ['ignored: blob push ("application/octet-stream")']],
    ['blob-push-retried-delivery', ['ignored: blob push ("application/octet-stream")']],
    ['blob-pull-head', ['ignored: pull']],
    ['manifest-pull', ['ignored: pull of group/project/app:latest']],
    ['blob-mount', ['ignored: blob mount']],
    ['delete-manifest-digest', ['ignored: delete']],
    ['delete-tag', ['ignored: delete']],
    ['delete-blob', ['ignored: delete']],
    [
      'multi-event-envelope',
      [
        'ignored: blob mount',
        'ignored: blob push ("application/octet-stream")',
        'candidate group/project/app:node-1.0@437cb2e95460',
      ],
    ],
  ])('%s', (name, expected) => {
    const parsed = parseRegistryPayload(fixture(name));
    expect(parsed.ok && parsed.format).toBe('distribution');
    expect(entriesOf(fixture(name)).map(summary)).toEqual(expected);
  });

  it('keeps the event id, media type and full digest of a candidate', () => {
    const [entry] = entriesOf(fixture('manifest-push-tag'));
    expect(entry).toEqual({
      kind: 'candidate',
      event: {
        format: 'distribution',
        externalId: 'ba41123d-ed6e-4a18-ac29-7b567f2035ee',
        action: 'push',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        repository: 'group/project/base',
        tag: 'bookworm',
        digest: 'sha256:ac1e39eaf524ae0a33bb328023cf56951ac9578aa3f93df8106138fea9e3e924',
      },
    });
  });

  it('keeps what an ignored event says, for the event log', () => {
    const [entry] = entriesOf(fixture('delete-tag'));
    expect(entry).toMatchObject({
      kind: 'ignored',
      fields: {
        format: 'distribution',
        externalId: 'cf91a9d2-4ad5-45f6-9ff6-0830a7cee82e',
        action: 'delete',
        mediaType: null,
        repository: 'group/project/base',
        tag: 'bookworm-jq',
        digest: null,
      },
    });
  });

  it('never takes anything from target.url or request.host', () => {
    const body = fixture('manifest-push-tag') as {
      events: { target: Record<string, unknown>; request: Record<string, unknown> }[];
    };
    body.events[0]!.target.url = 'http://169.254.169.254/latest/meta-data/';
    body.events[0]!.request.host = 'evil.example.com';
    const [entry] = entriesOf(body);
    expect(JSON.stringify(entry)).not.toMatch(/169\.254|evil|127\.0\.0\.1/);
  });
});

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function harbor(overrides: Record<string, unknown> = {}, resource: Record<string, unknown> = {}) {
  return {
    type: 'PUSH_ARTIFACT',
    occur_at: 1700000000,
    operator: 'admin',
    event_data: {
      resources: [
        {
          digest: DIGEST,
          tag: 'latest',
          resource_url: 'harbor.example.com/library/nginx:latest',
          ...resource,
        },
      ],
      repository: {
        date_created: 1699999999,
        name: 'nginx',
        namespace: 'library',
        repo_full_name: 'library/nginx',
        repo_type: 'private',
      },
    },
    ...overrides,
  };
}

describe('Harbor webhooks', () => {
  it('PUSH_ARTIFACT with a tag is a candidate, repository from repo_full_name', () => {
    const parsed = parseRegistryPayload(harbor());
    expect(parsed).toEqual({
      ok: true,
      format: 'harbor',
      entries: [
        {
          kind: 'candidate',
          event: {
            format: 'harbor',
            externalId: null,
            action: 'push',
            mediaType: null,
            repository: 'library/nginx',
            tag: 'latest',
            digest: DIGEST,
          },
        },
      ],
    });
  });

  const repo = (repository: Record<string, unknown>) =>
    harbor({ event_data: { resources: [{ digest: DIGEST, tag: 'v1' }], repository } });

  it.each<[string, unknown, string[]]>([
    ['PUSH_ARTIFACT', harbor(), ['candidate library/nginx:latest@abababababab']],
    [
      'PULL_ARTIFACT',
      harbor({ type: 'PULL_ARTIFACT' }),
      ['ignored: Harbor event "PULL_ARTIFACT" is not a push'],
    ],
    [
      'DELETE_ARTIFACT',
      harbor({ type: 'DELETE_ARTIFACT' }),
      ['ignored: Harbor event "DELETE_ARTIFACT" is not a push'],
    ],
    [
      'SCANNING_COMPLETED',
      harbor({ type: 'SCANNING_COMPLETED' }),
      ['ignored: Harbor event "SCANNING_COMPLETED" is not a push'],
    ],
    ['no tag', harbor({}, { tag: '' }), ['ignored: push by digest: no tag']],
    ['tag absent', harbor({}, { tag: undefined }), ['ignored: push by digest: no tag']],
    ['bad tag', harbor({}, { tag: '-x' }), ['malformed: resource 0: invalid tag "-x"']],
    [
      'bad digest',
      harbor({}, { digest: 'md5:abc' }),
      ['malformed: resource 0: invalid digest "md5:abc"'],
    ],
    [
      'namespace + name',
      repo({ namespace: 'team', name: 'svc/api' }),
      ['candidate team/svc/api:v1@abababababab'],
    ],
    [
      'uppercase repository',
      repo({ repo_full_name: 'Library/Nginx' }),
      ['malformed: invalid repository name "Library/Nginx"'],
    ],
    [
      'no repository',
      harbor({ event_data: { resources: [{ digest: DIGEST, tag: 'v1' }] } }),
      ['malformed: "event_data.repository" is missing, not an object'],
    ],
    [
      'no resources',
      harbor({ event_data: { resources: [], repository: { repo_full_name: 'a/b' } } }),
      ['malformed: PUSH_ARTIFACT without resources'],
    ],
    [
      'two resources',
      harbor({
        event_data: {
          resources: [
            { digest: DIGEST, tag: 'v1' },
            { digest: DIGEST, tag: 'v2' },
          ],
          repository: { repo_full_name: 'a/b' },
        },
      }),
      ['candidate a/b:v1@abababababab', 'candidate a/b:v2@abababababab'],
    ],
  ])('%s', (_, body, expected) => {
    expect(entriesOf(body).map(summary)).toEqual(expected);
  });
});

describe('malformed and hostile bodies', () => {
  const push = (target: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    events: [
      {
        id: 'e1',
        action: 'push',
        target: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: DIGEST,
          repository: 'group/app',
          tag: 'latest',
          ...target,
        },
        ...extra,
      },
    ],
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'the body is null, not a JSON object'],
    ['a string', 'hello', 'the body is "hello", not a JSON object'],
    ['a number', 42, 'the body is a number, not a JSON object'],
    ['an array', [{ events: [] }], 'the body is an array, not a JSON object'],
    ['an empty object', {}, 'unknown payload'],
    ['events not an array', { events: { 0: {} } }, '"events" is an object, not an array'],
    ['events null', { events: null }, '"events" is null, not an array'],
    [
      'Harbor without event_data object',
      { type: 'PUSH_ARTIFACT', event_data: 'x' },
      '"event_data" is "x", not an object',
    ],
    ['Harbor type not a string', { type: 5, event_data: {} }, '"type" is a number, not a string'],
    [
      'Harbor resources not an array',
      { type: 'PUSH_ARTIFACT', event_data: { resources: 'x' } },
      'not an array',
    ],
    [
      'too many events',
      { events: Array.from({ length: MAX_EVENTS_PER_ENVELOPE + 1 }, () => ({})) },
      'too many events',
    ],
  ])('%s → not parsed', (_, body, error) => {
    const parsed = parseRegistryPayload(body);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toContain(error);
  });

  it('an empty envelope has no entries', () => {
    expect(parseRegistryPayload({ events: [] })).toEqual({
      ok: true,
      format: 'distribution',
      entries: [],
    });
  });

  it.each<[string, unknown, string]>([
    ['event not an object', { events: [42] }, 'malformed: event 0: is a number, not an object'],
    ['no action', push({}, { action: undefined }), 'malformed: event 0: has no "action"'],
    ['action not a string', push({}, { action: ['push'] }), 'malformed: event 0: has no "action"'],
    ['no target', push({}, { target: null }), 'malformed: event 0: has no "target" object'],
    [
      'no repository',
      push({ repository: undefined }),
      'malformed: event 0: has no "target.repository"',
    ],
    [
      'uppercase repository',
      push({ repository: 'Group/App' }),
      'malformed: event 0: invalid repository name "Group/App"',
    ],
    [
      'path traversal',
      push({ repository: '../etc/passwd' }),
      'malformed: event 0: invalid repository name "../etc/passwd"',
    ],
    [
      'empty component',
      push({ repository: 'group//app' }),
      'malformed: event 0: invalid repository name "group//app"',
    ],
    [
      'trailing slash',
      push({ repository: 'group/app/' }),
      'malformed: event 0: invalid repository name "group/app/"',
    ],
    [
      'double dot separator',
      push({ repository: 'group/a..b' }),
      'malformed: event 0: invalid repository name "group/a..b"',
    ],
    [
      'a host in the repository',
      push({ repository: 'evil.com:5000/app' }),
      'malformed: event 0: invalid repository name "evil.com:5000/app"',
    ],
    [
      'repository number',
      push({ repository: 7 }),
      'malformed: event 0: invalid repository name a number',
    ],
    [
      'repository too long',
      push({ repository: 'a/'.repeat(128) + 'a' }),
      'malformed: event 0: invalid repository name',
    ],
    ['tag with a slash', push({ tag: 'a/b' }), 'malformed: event 0: invalid tag "a/b"'],
    [
      'tag starting with a dot',
      push({ tag: '.hidden' }),
      'malformed: event 0: invalid tag ".hidden"',
    ],
    ['tag too long', push({ tag: 'a'.repeat(129) }), 'malformed: event 0: invalid tag'],
    ['tag with a newline', push({ tag: 'v1\nX' }), 'malformed: event 0: invalid tag "v1\\nX"'],
    [
      'digest uppercase',
      push({ digest: `sha256:${'AB'.repeat(32)}` }),
      'malformed: event 0: invalid digest',
    ],
    [
      'digest short',
      push({ digest: 'sha256:abc' }),
      'malformed: event 0: invalid digest "sha256:abc"',
    ],
    ['digest md5', push({ digest: `md5:${'a'.repeat(32)}` }), 'malformed: event 0: invalid digest'],
    [
      'manifest push without digest',
      push({ digest: undefined }),
      'malformed: event 0: manifest push without "target.digest"',
    ],
    [
      'push without media type',
      push({ mediaType: undefined }),
      'malformed: event 0: push without "target.mediaType"',
    ],
    [
      'media type not a string',
      push({ mediaType: {} }),
      'malformed: event 0: "target.mediaType" is an object, not a string',
    ],
    ['unknown action', push({}, { action: 'tag' }), 'ignored: unknown action "tag"'],
    [
      'schema 1',
      push({ mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }),
      'ignored: Docker schema 1 manifests are not scanned (application/vnd.docker.distribution.manifest.v1+prettyjws)',
    ],
    [
      'a layer media type',
      push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }),
      'ignored: blob push ("application/vnd.oci.image.layer.v1.tar+gzip")',
    ],
    [
      'an unknown media type',
      push({ mediaType: 'text/html' }),
      'ignored: not an image manifest (media type "text/html")',
    ],
    ['empty tag', push({ tag: '' }), 'ignored: push by digest: no tag'],
    [
      'sha512 digest',
      push({ digest: `sha512:${'c'.repeat(128)}` }),
      'candidate group/app:latest@cccccccccccc',
    ],
    [
      'docker manifest list',
      push({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' }),
      'candidate group/app:latest@abababababab',
    ],
  ])('%s', (_, body, expected) => {
    const summaries = entriesOf(body).map(summary);
    expect(summaries).toHaveLength(1);
    // the expected text, or its start where the reason goes on to quote a long value
    expect(summaries[0]?.slice(0, expected.length)).toBe(expected);
  });

  it('does not follow __proto__ or constructor keys', () => {
    const body = JSON.parse(
      '{"events":[{"__proto__":{"action":"push","target":{}},"constructor":{"prototype":{"x":1}}}]}',
    ) as unknown;
    expect(entriesOf(body).map(summary)).toEqual(['malformed: event 0: has no "action"']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('keeps free text only when it is short printable ASCII', () => {
    const [entry] = entriesOf(push({}, { id: 'bad\u0000id' }));
    expect(entry?.kind === 'candidate' && entry.event.externalId).toBeNull();
    const [long] = entriesOf(push({}, { id: 'x'.repeat(300) }));
    expect(long?.kind === 'candidate' && long.event.externalId).toBeNull();
  });

  it('cuts and escapes quoted values in reasons', () => {
    expect(quoted('a'.repeat(500))).toHaveLength(80 + 3);
    expect(quoted('\u0000"')).toBe('"\\u0000\\""');
    const [entry] = entriesOf(push({ repository: 'x'.repeat(100_000) }));
    expect(entry?.kind === 'malformed' && entry.reason.length).toBeLessThan(200);
  });
});

describe('grammar', () => {
  it.each([
    ['group/app', true],
    ['a', true],
    ['group/app/api', true],
    ['my-group/my_app/a.b/a__b/a---b', true],
    ['a_-b', false],
    ['a___b', false],
    ['-a', false],
    ['a-', false],
    ['A', false],
    ['', false],
    ['/a', false],
    ['a b', false],
  ])('repository %j → %s', (name, ok) => {
    expect(isRepositoryName(name)).toBe(ok);
  });

  it.each([
    ['latest', true],
    ['v1.2.3-rc.1', true],
    ['_x', true],
    ['1', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['-x', false],
    ['x:y', false],
    ['', false],
  ])('tag %j → %s', (tag, ok) => {
    expect(isTag(tag)).toBe(ok);
  });

  it.each([
    [`sha256:${'0'.repeat(64)}`, true],
    [`sha512:${'f'.repeat(128)}`, true],
    [`sha256:${'0'.repeat(63)}`, false],
    [`sha256:${'g'.repeat(64)}`, false],
    [`sha384:${'0'.repeat(96)}`, false],
  ])('digest %s → %s', (digest, ok) => {
    expect(isDigest(digest)).toBe(ok);
  });
});
