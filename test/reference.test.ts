import { describe, expect, it } from 'vitest';
import { parseReference, ReferenceError } from '../src/image/reference.js';

describe('parseReference', () => {
  const cases: [string, object][] = [
    [
      'alpine',
      { transport: 'docker', registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    ],
    [
      'docker://alpine:3.20',
      { transport: 'docker', registry: 'docker.io', repository: 'library/alpine', tag: '3.20' },
    ],
    [
      'localhost:5000/group/app:1.0',
      { transport: 'docker', registry: 'localhost:5000', repository: 'group/app', tag: '1.0' },
    ],
    [
      'docker://127.0.0.1:5000/group/app',
      { transport: 'docker', registry: '127.0.0.1:5000', repository: 'group/app', tag: 'latest' },
    ],
    [
      'ghcr.io/o/r@sha256:' + 'a'.repeat(64),
      {
        transport: 'docker',
        registry: 'ghcr.io',
        repository: 'o/r',
        tag: undefined,
        digest: 'sha256:' + 'a'.repeat(64),
      },
    ],
    [
      'ghcr.io/o/r:v1@sha256:' + 'b'.repeat(64),
      {
        transport: 'docker',
        registry: 'ghcr.io',
        repository: 'o/r',
        tag: 'v1',
        digest: 'sha256:' + 'b'.repeat(64),
      },
    ],
    ['oci:/tmp/layout', { transport: 'oci', path: '/tmp/layout' }],
    ['oci:/tmp/layout:base', { transport: 'oci', path: '/tmp/layout', tag: 'base' }],
    ['oci-archive:img.tar:v2', { transport: 'oci-archive', path: 'img.tar', tag: 'v2' }],
    ['docker-archive:/x/img.tar', { transport: 'docker-archive', path: '/x/img.tar' }],
  ];
  it.each(cases)('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  const bad = [
    '',
    'docker://Upper/Case',
    'https://example.com/x',
    'x@sha256:short',
    'oci:',
    'repo:bad tag',
  ];
  it.each(bad)('rejects %j', (input) => {
    expect(() => parseReference(input)).toThrow(ReferenceError);
  });
});
