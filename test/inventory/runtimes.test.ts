import { describe, expect, it } from 'vitest';
import { runtimesFromConfig } from '../../src/inventory/runtimes.js';

describe('runtimesFromConfig', () => {
  it.each([
    [
      ['NODE_VERSION=22.11.0', 'YARN_VERSION=1.22.22'],
      [{ type: 'generic', name: 'node', version: '22.11.0' }],
    ],
    [
      ['GOLANG_VERSION=1.23.4', 'GOPATH=/go'],
      [{ type: 'golang', name: 'stdlib', version: '1.23.4' }],
    ],
    [['JAVA_VERSION=jdk-21.0.5+11'], [{ type: 'generic', name: 'openjdk', version: '21.0.5+11' }]],
    [
      ['PYTHON_VERSION=3.12.7', 'PHP_VERSION=8.3.14', 'RUBY_VERSION=3.3.6'],
      [
        { type: 'generic', name: 'python', version: '3.12.7' },
        { type: 'generic', name: 'ruby', version: '3.3.6' },
        { type: 'generic', name: 'php', version: '8.3.14' },
      ],
    ],
    [['NODE_VERSION='], []],
    [['NODE_VERSION=$(curl evil)'], []],
    [['PATH=/usr/bin', 'NODE_VERSION'], []],
  ])('%j', (env, expected) => {
    const out = runtimesFromConfig({ config: { Env: env } }).map(({ type, name, version }) => ({
      type,
      name,
      version,
    }));
    expect(out).toEqual(expected);
  });

  it('copes with a configuration without Env', () => {
    expect(runtimesFromConfig({})).toEqual([]);
  });
});
