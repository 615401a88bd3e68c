import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { Log } from 'sarif';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { toSarif } from '../../src/report/sarif.js';
import { ALL_REPORTS, debianReport, emptyReport } from './scan-reports.js';

/**
 * No copy of the SARIF 2.1.0 JSON schema is available here, so the parts of it regscan's output
 * uses are checked by this subset, written from the OASIS specification: required properties,
 * enumerations and formats of sarifLog, run, tool, reportingDescriptor, result, message,
 * location, physicalLocation, artifactLocation and logicalLocation.
 */
const message = {
  type: 'object',
  anyOf: [{ required: ['text'] }, { required: ['id'] }],
  properties: { text: { type: 'string' }, markdown: { type: 'string' }, id: { type: 'string' } },
};
const multiformat = {
  type: 'object',
  required: ['text'],
  properties: { text: { type: 'string' }, markdown: { type: 'string' } },
};
const propertyBag = {
  type: 'object',
  properties: { tags: { type: 'array', uniqueItems: true, items: { type: 'string' } } },
};
const level = { enum: ['none', 'note', 'warning', 'error'] };
const SARIF_SUBSET = {
  type: 'object',
  required: ['version', 'runs'],
  properties: {
    $schema: { type: 'string', format: 'uri' },
    version: { const: '2.1.0' },
    runs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['tool'],
        properties: {
          tool: {
            type: 'object',
            required: ['driver'],
            properties: {
              driver: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: { type: 'string' },
                  version: { type: 'string' },
                  rules: {
                    type: 'array',
                    uniqueItems: true,
                    items: {
                      type: 'object',
                      required: ['id'],
                      properties: {
                        id: { type: 'string' },
                        name: { type: 'string' },
                        shortDescription: multiformat,
                        fullDescription: multiformat,
                        help: multiformat,
                        helpUri: { type: 'string', format: 'uri' },
                        defaultConfiguration: {
                          type: 'object',
                          properties: { level },
                        },
                        properties: propertyBag,
                      },
                    },
                  },
                },
              },
            },
          },
          columnKind: { enum: ['utf16CodeUnits', 'unicodeCodePoints'] },
          results: {
            type: 'array',
            items: {
              type: 'object',
              required: ['message'],
              properties: {
                ruleId: { type: 'string' },
                ruleIndex: { type: 'integer', minimum: -1 },
                kind: {
                  enum: ['notApplicable', 'pass', 'fail', 'review', 'open', 'informational'],
                },
                level,
                message,
                locations: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      physicalLocation: {
                        type: 'object',
                        anyOf: [{ required: ['address'] }, { required: ['artifactLocation'] }],
                        properties: {
                          artifactLocation: {
                            type: 'object',
                            properties: { uri: { type: 'string', format: 'uri-reference' } },
                          },
                        },
                      },
                      logicalLocations: {
                        type: 'array',
                        minItems: 0,
                        uniqueItems: true,
                        items: {
                          type: 'object',
                          properties: {
                            name: { type: 'string' },
                            fullyQualifiedName: { type: 'string' },
                            kind: { type: 'string' },
                          },
                        },
                      },
                    },
                  },
                },
                partialFingerprints: { type: 'object', additionalProperties: { type: 'string' } },
                properties: propertyBag,
              },
            },
          },
          properties: propertyBag,
        },
      },
    },
  },
};

// strictRequired off: `anyOf` branches name properties defined by the parent, valid JSON Schema.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
ajvFormats.default(ajv);
const validate = ajv.compile(SARIF_SUBSET);

function errors(log: unknown): string[] {
  return validate(log) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('SARIF 2.1.0', () => {
  const log: Log = toSarif(ALL_REPORTS, { toolVersion: '0.1.0' });
  const run = log.runs[0]!;
  const rules = run.tool.driver.rules ?? [];
  const results = run.results ?? [];

  it('has the structure SARIF requires (and the subset check rejects a broken log)', () => {
    expect(errors(log)).toEqual([]);
    expect(errors({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).not.toEqual([]);
    expect(errors({ ...log, version: '2.0.0' })).not.toEqual([]);
    expect(log.runs).toHaveLength(1);
    expect(run.tool.driver).toMatchObject({ name: 'regscan', version: '0.1.0' });
  });

  it('has one rule per advisory and one result per finding, indexes consistent', () => {
    const advisories = new Set(ALL_REPORTS.flatMap((r) => r.findings.map((f) => f.advisoryId)));
    expect(rules.map((r) => r.id).sort()).toEqual([...advisories].sort());
    expect(results).toHaveLength(ALL_REPORTS.reduce((n, r) => n + r.findings.length, 0));
    for (const r of results) {
      expect(rules[r.ruleIndex as number]?.id).toBe(r.ruleId);
    }
  });

  it('describes rules with security-severity from CVSS, tags and help URI', () => {
    const critical = rules.find((r) => r.id === 'DEBIAN-CVE-2024-0001');
    expect(critical).toMatchObject({
      name: 'CVE-2024-0001',
      helpUri: 'https://security-tracker.debian.org/tracker/CVE-2024-0001',
      defaultConfiguration: { level: 'error' },
      properties: { 'security-severity': '9.8', tags: ['security', 'vulnerability', 'critical'] },
    });
    expect(critical?.shortDescription?.text).toMatch(/^CVE-2024-0001: openssl: buffer overflow/);
    // v3 preferred; without v3 the v4 score stands.
    const high = rules.find((r) => r.id === 'DEBIAN-CVE-2024-0002');
    expect(high?.properties?.['security-severity']).toBe('8.7');
    // No CVSS: a score in the level's band; none at all for unknown.
    const low = rules.find((r) => r.id === 'DEBIAN-CVE-2005-2541');
    expect(low?.properties?.['security-severity']).toBe('2.0');
    const unknown = rules.find((r) => r.id === 'ALPINE-XSA-123');
    expect(unknown?.properties?.['security-severity']).toBeUndefined();
    expect(unknown?.helpUri).toBe('https://osv.dev/vulnerability/ALPINE-XSA-123');
    // Plain text only: no markdown anywhere.
    expect(JSON.stringify(log)).not.toContain('"markdown"');
  });

  it('gives results a level, a message with package and versions, and locations', () => {
    expect(results.map((r) => r.level as string).sort()).toEqual(
      ['error', 'error', 'error', 'note', 'note', 'warning'].sort(),
    );
    const first = results[0]!;
    expect(first.message.text).toBe(
      'Package libssl3 3.0.11-1~deb12u2 in 127.0.0.1:5000/group/app:1.0 is affected by ' +
        'CVE-2024-0001 (critical). Fixed in 3.0.15-1~deb12u1.',
    );
    expect(first.locations?.[0]?.physicalLocation?.artifactLocation?.uri).toBe(
      'var/lib/dpkg/status',
    );
    expect(first.locations?.[0]?.logicalLocations?.[0]).toEqual({
      name: '127.0.0.1:5000/group/app:1.0',
      fullyQualifiedName: `127.0.0.1:5000/group/app@${debianReport.image.image.manifestDigest}`,
      kind: 'module',
    });
    expect(results.find((r) => r.ruleId === 'DEBIAN-CVE-2024-0002')?.message.text).toContain(
      'No fix is available yet.',
    );
    expect(results.find((r) => r.ruleId === 'DEBIAN-CVE-2005-2541')?.message.text).toContain(
      "won't fix",
    );
    const alpine = results.find((r) => r.ruleId === 'GHSA-aaaa-bbbb-cccc');
    expect(alpine?.locations?.[0]?.physicalLocation?.artifactLocation?.uri).toBe(
      'lib/apk/db/installed',
    );
    expect(alpine?.message.text).toContain('Fixed in 1.36.1-r30, 1.37.0-r0.');
    // Fingerprints: unique per finding, equal across scans.
    const prints = results.map((r) => r.partialFingerprints?.['regscanFinding/v1']);
    expect(new Set(prints).size).toBe(results.length);
    expect(toSarif(ALL_REPORTS).runs[0]?.results?.map((r) => r.partialFingerprints)).toEqual(
      results.map((r) => r.partialFingerprints),
    );
  });

  it('keeps control characters out and doubles braces in messages', () => {
    const text = JSON.stringify(log);
    expect(text).not.toMatch(/\\u00(0[0-8]|1[0-9a-f]|7f|8[0-9a-f]|9[0-9a-f])|\\r|\u202e/i);
    const braces = toSarif([
      {
        image: debianReport.image,
        findings: [{ ...debianReport.findings[0]!, installedVersion: '1.0{0}' }],
      },
    ]);
    expect(braces.runs[0]?.results?.[0]?.message.text).toContain('1.0{{0}}');
  });

  it('is a valid empty run for an image without findings, via renderReport', () => {
    const out = renderReport('sarif', [emptyReport]);
    const empty = JSON.parse(out) as Log;
    expect(errors(empty)).toEqual([]);
    expect(empty.runs[0]?.results).toEqual([]);
    expect(empty.runs[0]?.tool.driver.rules).toEqual([]);
  });
});
