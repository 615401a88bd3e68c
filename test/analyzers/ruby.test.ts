import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStringLiteral, rubyAnalyzer } from '../../src/inventory/analyzers/ruby.js';
import type { AnalyzedPackage } from '../../src/inventory/types.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/ruby/${name}`, import.meta.url));

async function analyze(text: string | Buffer, path: string) {
  const content = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return rubyAnalyzer.analyze({ path, content }, new Map([[path, content]]));
}

const gem = (
  name: string,
  version: string,
  extra: Partial<AnalyzedPackage> = {},
): AnalyzedPackage => ({ type: 'gem', name, version, ...extra });

describe('ruby analyzer', () => {
  it.each([
    ['usr/local/bundle/specifications/rack-2.2.8.gemspec', true],
    ['usr/lib/ruby/gems/3.1.0/specifications/rexml-3.3.9.gemspec', true],
    ['usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec', true],
    ['var/lib/gems/3.1.0/specifications/nokogiri-1.15.4-x86_64-linux.gemspec', true],
    ['usr/share/rubygems-integration/all/specifications/webrick-1.8.1.gemspec', true],
    ['specifications/rack-2.2.8.gemspec', true],
    ['srv/app/Gemfile.lock', true],
    ['Gemfile.lock', true],
    ['srv/app/gems.locked', true],
    // an installed gem's own development lock file and gemspec are not what the image runs
    ['usr/local/bundle/gems/rack-2.2.8/Gemfile.lock', false],
    ['usr/local/bundle/bundler/gems/rails-0123abcd/Gemfile.lock', false],
    ['usr/local/bundle/gems/rack-2.2.8/rack.gemspec', false],
    ['usr/local/bundle/specifications/extra/rack-2.2.8.gemspec', false],
    ['usr/local/bundle/cache/rack-2.2.8.gem', false],
    ['srv/app/Gemfile', false],
    ['srv/app/Gemfile.lock.bak', false],
    ['srv/app/app.gemspec', false],
  ])('wants(%s) = %s', (path, expected) => {
    expect(rubyAnalyzer.wants(path)).toBe(expected);
  });

  const TWO = ['Ruby', 'BSD-2-Clause'];
  // Each fixture, at its path in the image, → exactly these packages and no warnings.
  it.each<[string, string, AnalyzedPackage[]]>([
    [
      'debian-12-ruby3.1',
      'usr/lib/ruby/gems/3.1.0/specifications/rexml-3.3.9.gemspec',
      [gem('rexml', '3.3.9', { licenses: ['BSD-2-Clause'] })],
    ],
    [
      'debian-12-ruby3.1',
      'usr/lib/ruby/gems/3.1.0/specifications/default/openssl-3.0.1.gemspec',
      [gem('openssl', '3.0.1', { licenses: ['Ruby'], properties: { 'gem:default': 'true' } })],
    ],
    [
      // its second `# stub:` line lists extensions separated by NUL bytes
      'debian-12-ruby3.1',
      'usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec',
      [gem('json', '2.6.1', { licenses: ['Ruby'], properties: { 'gem:default': 'true' } })],
    ],
    [
      'debian-12-ruby3.1',
      'usr/lib/ruby/gems/3.1.0/specifications/default/bundler-2.3.27.gemspec',
      [gem('bundler', '2.3.27', { licenses: ['MIT'], properties: { 'gem:default': 'true' } })],
    ],
    [
      'debian-12-ruby3.1',
      'usr/share/rubygems-integration/all/specifications/webrick-1.8.1.gemspec',
      [gem('webrick', '1.8.1', { licenses: TWO })],
    ],
    [
      'syft',
      'specifications/bundler-2.1.4.gemspec',
      [gem('bundler', '2.1.4', { licenses: ['MIT'] })],
    ],
    [
      'built',
      'usr/local/bundle/specifications/regscan-fixture-pure-0.3.1.gemspec',
      [gem('regscan-fixture-pure', '0.3.1', { licenses: ['MIT', 'Apache-2.0'] })],
    ],
    [
      'built',
      'usr/local/bundle/specifications/regscan-fixture-native-1.15.4-x86_64-linux.gemspec',
      [
        gem('regscan-fixture-native', '1.15.4', {
          licenses: ['MIT'],
          properties: { 'gem:platform': 'x86_64-linux' },
        }),
      ],
    ],
    [
      'built',
      'srv/app/Gemfile.lock',
      [
        gem('minitest', '5.15.0'),
        gem('power_assert', '2.0.1'),
        gem('rake', '13.0.6'),
        gem('regscan-fixture-native', '1.15.4', { properties: { 'gem:platform': 'x86_64-linux' } }),
        gem('regscan-fixture-pure', '0.3.1'),
        gem('rexml', '3.3.9'),
        gem('test-unit', '3.5.3'),
      ],
    ],
  ])('%s: %s', async (dir, path, packages) => {
    expect(rubyAnalyzer.wants(path)).toBe(true);
    expect(await analyze(fixture(`${dir}/${path}`), path)).toEqual({ packages, warnings: [] });
  });

  describe('gemspec', () => {
    const SPEC = 'usr/local/bundle/specifications/x-1.gemspec';
    const cases: [string, string, AnalyzedPackage[], string[]][] = [
      [
        'old RubyGems: %q{}, Gem::Version.new, singular license',
        'Gem::Specification.new do |s|\n  s.name = %q{rack}\n  s.version = Gem::Version.new("1.0.1")\n  s.license = %q<MIT>\nend\n',
        [gem('rack', '1.0.1', { licenses: ['MIT'] })],
        [],
      ],
      [
        'single quotes, .freeze, another block variable, %w licences',
        "Gem::Specification.new do |spec|\n  spec.name    = 'a-b'.freeze\n  spec.version = '2.0.0.pre1'.freeze\n  spec.licenses = %w[MIT Ruby]\nend\n",
        [gem('a-b', '2.0.0.pre1', { licenses: ['MIT', 'Ruby'] })],
        [],
      ],
      [
        'the first assignment wins; required_rubygems_version and rubygems_version are not the version',
        '  s.required_rubygems_version = Gem::Requirement.new(">= 0")\n  s.rubygems_version = "3.4.1"\n  s.name = "a"\n  s.version = "1"\n  s.name = "b"\n  s.add_dependency(%q<c>.freeze, ["= 2"])\n',
        [gem('a', '1')],
        [],
      ],
      [
        'platform constant: not a literal, no platform',
        '  s.name = "a"\n  s.version = "1"\n  s.platform = Gem::Platform::RUBY\n',
        [gem('a', '1')],
        [],
      ],
      [
        'escapes in double quotes',
        '  s.name = "caf\\u00E9"\n  s.version = "1"\n  s.licenses = ["Nonstandard".freeze, nil]\n',
        [gem('café', '1', { licenses: ['Nonstandard'] })],
        [],
      ],
      [
        'the # stub: line stands in for a missing name and version',
        '# stub: nokogiri 1.15.4 x86_64-linux lib\nGem::Specification.new do |s|\nend\n',
        [gem('nokogiri', '1.15.4', { properties: { 'gem:platform': 'x86_64-linux' } })],
        [],
      ],
      [
        'a version that is an expression is not evaluated',
        '  s.name = "a"\n  s.version = A::VERSION\n',
        [],
        [
          `${SPEC}:2: version is not a string literal; ignored`,
          `${SPEC}: no gem name and version (s.name, s.version or a "# stub:" line)`,
        ],
      ],
      [
        'an unterminated string',
        '  s.name = "a\n  s.version = "1"\n',
        [],
        [
          `${SPEC}:1: name is not a string literal; ignored`,
          `${SPEC}: no gem name and version (s.name, s.version or a "# stub:" line)`,
        ],
      ],
      [
        'unreadable licences are left out with a warning',
        '  s.name = "a"\n  s.version = "1"\n  s.licenses = LICENSES\n',
        [gem('a', '1')],
        [`${SPEC}:3: unreadable licenses; ignored`],
      ],
      [
        'whitespace in a version',
        '  s.name = "a"\n  s.version = "1 2"\n',
        [],
        [`${SPEC}: "a" "1 2" is not a gem name and version`],
      ],
      [
        'not a gemspec at all',
        '\u0000\u0001binary',
        [],
        [`${SPEC}: no gem name and version (s.name, s.version or a "# stub:" line)`],
      ],
      [
        'empty',
        '',
        [],
        [`${SPEC}: no gem name and version (s.name, s.version or a "# stub:" line)`],
      ],
    ];
    it.each(cases)('%s', async (_name, text, packages, warnings) => {
      expect(await analyze(text, SPEC)).toEqual({ packages, warnings });
    });
  });

  describe('Gemfile.lock', () => {
    const LOCK = 'srv/app/Gemfile.lock';
    const cases: [string, string, AnalyzedPackage[], string[]][] = [
      [
        'every GEM section, not GIT or PATH; dependency lines ignored; CRLF',
        [
          'GIT',
          '  remote: https://github.com/rails/rails.git',
          '  revision: 0123456789abcdef',
          '  specs:',
          '    rails (7.2.0.alpha)',
          '',
          'PATH',
          '  remote: engines/billing',
          '  specs:',
          '    billing (0.1.0)',
          '',
          'GEM',
          '  remote: https://rubygems.org/',
          '  specs:',
          '    actionpack (7.0.4)',
          '      rack (~> 2.0, >= 2.2.0)',
          '    nokogiri (1.15.4-x86_64-linux)',
          '      racc (~> 1.4)',
          '    nokogiri (1.15.4-arm64-darwin)',
          '    rack (2.2.8)',
          '',
          'GEM',
          '  remote: https://gems.example.com/',
          '  specs:',
          '    private-gem (0.0.1)',
          '    rack (2.2.8)',
          '',
          'PLATFORMS',
          '  arm64-darwin',
          '  x86_64-linux',
          '',
          'DEPENDENCIES',
          '  actionpack',
          '  rails!',
          '',
          'BUNDLED WITH',
          '   2.4.10',
          '',
        ].join('\r\n'),
        [
          gem('actionpack', '7.0.4'),
          gem('nokogiri', '1.15.4', { properties: { 'gem:platform': 'x86_64-linux' } }),
          gem('nokogiri', '1.15.4', { properties: { 'gem:platform': 'arm64-darwin' } }),
          gem('rack', '2.2.8'),
          gem('private-gem', '0.0.1'),
        ],
        [],
      ],
      [
        'malformed gem lines are skipped with a warning',
        'GEM\n  remote: https://rubygems.org/\n  specs:\n    rack\n    rake (13.0.6\n    json ()\n    thor (-x)\n    ok (1.0)\n',
        [gem('ok', '1.0')],
        [
          `${LOCK}:4: not a "name (version)" gem line: "rack"; skipped`,
          `${LOCK}:5: not a "name (version)" gem line: "rake (13.0.6"; skipped`,
          `${LOCK}:6: not a "name (version)" gem line: "json ()"; skipped`,
          `${LOCK}:7: unreadable version "-x" of thor; skipped`,
        ],
      ],
      [
        'a merge conflict',
        'GEM\n  specs:\n<<<<<<< HEAD\n    rack (2.2.8)\n=======\n    rack (3.0.0)\n>>>>>>> branch\n',
        [gem('rack', '2.2.8'), gem('rack', '3.0.0')],
        [
          `${LOCK}:3: merge conflict marker`,
          `${LOCK}:5: merge conflict marker`,
          `${LOCK}:7: merge conflict marker`,
        ],
      ],
      ['empty', '', [], []],
      ['only DEPENDENCIES', 'DEPENDENCIES\n  rack\n', [], []],
    ];
    it.each(cases)('%s', async (_name, text, packages, warnings) => {
      expect(await analyze(text, LOCK)).toEqual({ packages, warnings });
    });

    it('refuses a file with none of the sections Bundler writes', async () => {
      await expect(analyze('{"lockfileVersion": 3}\n', LOCK)).rejects.toThrow(/not a Gemfile.lock/);
    });

    it('caps the warnings', async () => {
      const text = `GEM\n  specs:\n${'    bad\n'.repeat(30)}`;
      const out = await analyze(text, LOCK);
      expect(out.warnings).toHaveLength(21);
      expect(out.warnings?.at(-1)).toBe(`${LOCK}: 10 more warnings not shown`);
    });
  });

  it.each([
    ['"a\\"b".freeze, x', 'a"b', ', x'],
    ["'it''s'", 'it', "'s'"],
    ["'a\\'b\\\\c\\n'", "a'b\\c\\n", ''],
    ['%q(x y)', 'x y', ''],
    ['%Q[x]', 'x', ''],
    ['%{x}', 'x', ''],
    ['%q|x|.freeze)', 'x', ')'],
    ['"\\u{1F600 41}"', '\u{1F600}A', ''],
  ])('readStringLiteral(%s)', (input, value, rest) => {
    expect(readStringLiteral(input)).toEqual({ value, rest });
  });

  it.each(['x', '"open', '%q{open', '', 'nil'])('readStringLiteral(%s) is undefined', (input) => {
    expect(readStringLiteral(input)).toBeUndefined();
  });
});
