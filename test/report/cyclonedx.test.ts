import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { toCycloneDXVex, toCycloneDXVexString } from '../../src/report/cyclonedx-vex.js';
import type { ScanReport } from '../../src/report/types.js';
import { toCycloneDX } from '../../src/sbom/cyclonedx.js';
import { validateCycloneDX16 } from '../support/cyclonedx-schema.js';
import {
  ALL_REPORTS,
  alpineReport,
  debianReport,
  emptyReport,
  finding,
  SERIAL,
  TIMESTAMP,
} from './scan-reports.js';

const OPTIONS = { toolVersion: '0.1.0', timestamp: TIMESTAMP, serialNumber: SERIAL };

type Json = Record<string, unknown>;
interface Vuln {
  'bom-ref': string;
  id: string;
  source: { name: string; url?: string };
  references?: { id: string; source: { name: string; url?: string } }[];
  ratings: { method: string; score?: number; severity?: string; vector?: string }[];
  cwes?: number[];
  description?: string;
  detail?: string;
  recommendation?: string;
  advisories?: { url: string }[];
  affects: { ref: string; versions?: { version: string; status: string }[] }[];
  properties: { name: string; value: string }[];
  analysis?: unknown;
}

function componentRefs(doc: Json): Set<string> {
  const refs = new Set<string>();
  const walk = (components: unknown) => {
    for (const c of (components as Json[] | undefined) ?? []) {
      refs.add(c['bom-ref'] as string);
      walk(c.components);
    }
  };
  walk(doc.components);
  return refs;
}

const vulns = (doc: Json) => (doc.vulnerabilities as Vuln[] | undefined) ?? [];
const props = (v: Vuln, name: string) =>
  v.properties.filter((p) => p.name === name).map((p) => p.value);

describe('CycloneDX 1.6 with vulnerabilities', () => {
  it('validates against the 1.6 schema, one image and several', () => {
    for (const reports of [[debianReport], [alpineReport], [emptyReport], ALL_REPORTS]) {
      const doc = toCycloneDXVex(reports, OPTIONS);
      expect(validateCycloneDX16(doc)).toEqual([]);
      expect(doc.specVersion).toBe('1.6');
    }
  });

  it('is the SBOM plus vulnerabilities whose affects refs are components', () => {
    for (const reports of [[debianReport], ALL_REPORTS]) {
      const doc = toCycloneDXVex(reports, OPTIONS);
      const { vulnerabilities, ...rest } = doc;
      expect(rest).toEqual(
        toCycloneDX(
          reports.map((r) => r.image),
          OPTIONS,
        ),
      );
      const list = vulnerabilities as Vuln[];
      expect(list).toHaveLength(reports.reduce((n, r) => n + r.findings.length, 0));
      const refs = componentRefs(doc);
      for (const v of list) {
        expect(v.affects).toHaveLength(1);
        expect(refs.has(v.affects[0]?.ref as string)).toBe(true);
        expect(v.analysis).toBeUndefined();
      }
      // Vulnerability bom-refs are unique and never a component's.
      const vulnRefs = list.map((v) => v['bom-ref']);
      expect(new Set(vulnRefs).size).toBe(vulnRefs.length);
      for (const r of vulnRefs) expect(refs.has(r)).toBe(false);
    }
  });

  it('describes a fixed critical finding: id, source, ratings, advisories, fix', () => {
    const doc = toCycloneDXVex([debianReport], OPTIONS);
    const v = vulns(doc).find(
      (x) => x.id === 'CVE-2024-0001' && x.affects[0]?.ref.includes('/libssl3@'),
    ) as Vuln;
    expect(v).toBeDefined();
    expect(v.source).toEqual({
      name: 'Debian Security Tracker',
      url: 'https://security-tracker.debian.org/tracker/CVE-2024-0001',
    });
    expect(v.references?.map((r) => r.id)).toEqual(['CVE-2024-0001', 'DEBIAN-CVE-2024-0001']);
    expect(v.references?.[0]?.source.name).toBe('NVD');
    expect(v.ratings).toEqual([
      {
        method: 'CVSSv31',
        score: 9.8,
        severity: 'critical',
        vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      },
      {
        method: 'other',
        severity: 'critical',
        justification: 'regscan severity, taken from: cvss',
      },
    ]);
    expect(v.description).toContain('buffer overflow');
    expect(v.detail).toContain('X.509 certificate parsing');
    expect(v.recommendation).toBe('Upgrade libssl3 to 3.0.15-1~deb12u1');
    // `not a url` is left out.
    expect(v.advisories?.map((a) => a.url)).toEqual([
      'https://security-tracker.debian.org/tracker/CVE-2024-0001',
      'https://www.openssl.org/news/secadv/20240101.txt',
    ]);
    expect(v.affects[0]?.versions).toEqual([
      { version: '3.0.11-1~deb12u2', status: 'affected' },
      { version: '3.0.15-1~deb12u1', status: 'unaffected' },
    ]);
    expect(props(v, 'regscan:fix_state')).toEqual(['fixed']);
    expect(props(v, 'regscan:fixed_version')).toEqual(['3.0.15-1~deb12u1']);
    expect(props(v, 'regscan:advisory_id')).toEqual(['DEBIAN-CVE-2024-0001']);
  });

  it('maps CVSS v2, v3.0 and v4 ratings and the fix states', () => {
    const all = vulns(toCycloneDXVex(ALL_REPORTS, OPTIONS));
    const high = all.find((x) => x.id === 'CVE-2024-0002') as Vuln;
    expect(high.ratings.map((r) => [r.method, r.score, r.severity])).toEqual([
      ['CVSSv4', 8.7, 'high'],
      ['CVSSv2', 4.3, 'medium'],
      ['other', undefined, 'high'],
    ]);
    expect(high.recommendation).toBeUndefined();
    expect(props(high, 'regscan:fix_state')).toEqual(['not_fixed']);
    expect(props(high, 'regscan:fixed_version')).toEqual([]);

    const low = all.find((x) => x.id === 'CVE-2005-2541') as Vuln;
    expect(props(low, 'regscan:fix_state')).toEqual(['wont_fix']);
    expect(low.ratings).toEqual([
      { method: 'other', severity: 'low', justification: 'regscan severity, taken from: distro' },
    ]);
    // Control characters are removed from advisory text.
    // eslint-disable-next-line no-control-regex
    expect(low.description).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);

    const medium = all.find((x) => x.id === 'CVE-2023-4242') as Vuln;
    expect(medium.source.name).toBe('GitHub Advisory Database');
    expect(medium.ratings[0]?.method).toBe('CVSSv3');
    expect(props(medium, 'regscan:fixed_version')).toEqual(['1.36.1-r30', '1.37.0-r0']);

    const unknown = all.find((x) => x.id === 'ALPINE-XSA-123') as Vuln;
    expect(unknown.ratings).toEqual([
      { method: 'other', severity: 'unknown', justification: 'regscan severity, taken from: none' },
    ]);
    expect(unknown.description).toBeUndefined();
  });

  it('writes CWE ids when a finding carries them', () => {
    const withCwe = {
      ...finding({
        package: debianReport.image.inventory.packages[0]!,
        advisoryId: 'GHSA-xxxx-yyyy-zzzz',
      }),
      cwes: ['CWE-79', 'CWE-787', 'bogus'],
    };
    const doc = toCycloneDXVex([{ image: debianReport.image, findings: [withCwe] }], OPTIONS);
    expect(validateCycloneDX16(doc)).toEqual([]);
    expect(vulns(doc)[0]?.cwes).toEqual([79, 787]);
  });

  it('finds the component of a copied package, and refuses a package not in the inventory', () => {
    const copied: ScanReport = {
      image: debianReport.image,
      findings: debianReport.findings.map((f) => ({ ...f, package: structuredClone(f.package) })),
    };
    expect(toCycloneDXVexString([copied], OPTIONS)).toBe(
      toCycloneDXVexString([debianReport], OPTIONS),
    );
    const stranger: ScanReport = {
      image: debianReport.image,
      findings: [
        finding({
          package: { ...debianReport.image.inventory.packages[0]!, name: 'not-installed' },
          advisoryId: 'CVE-2024-1',
        }),
      ],
    };
    expect(() => toCycloneDXVex([stranger], OPTIONS)).toThrow(
      /not-installed.*not in the inventory/,
    );
  });

  it('is deterministic and comes from renderReport("cyclonedx")', () => {
    const a = renderReport('cyclonedx', ALL_REPORTS, OPTIONS);
    const b = renderReport(
      'cyclonedx',
      [...ALL_REPORTS].map((r) => ({ ...r, findings: [...r.findings].reverse() })),
      OPTIONS,
    );
    expect(a).toBe(b);
    expect(a.endsWith('}\n')).toBe(true);
  });
});
