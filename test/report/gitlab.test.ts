import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { toGitLab, uuidV5, type GitLabReport } from '../../src/report/gitlab.js';
import { renderReport } from '../../src/report/index.js';
import type { ScanReport } from '../../src/report/types.js';
import { ALL_REPORTS, debianReport, emptyReport, finding, libssl3 } from './scan-reports.js';

const SCHEMA_DIR = fileURLToPath(new URL('../fixtures/schemas/gitlab/', import.meta.url));
const read = (file: string) => JSON.parse(readFileSync(SCHEMA_DIR + file, 'utf8')) as unknown;

// GitLab's schema (draft-07): `self` is GitLab's annotation of the schema's version; declared so
// that strict mode accepts it. Its patterns use no format keyword.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
ajv.addKeyword({ keyword: 'self', schemaType: 'object' });
const validate = ajv.compile(
  read('container-scanning-report-format-15.0.7.json') as Record<string, unknown>,
);

function errors(report: unknown): string[] {
  return validate(report)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? e.keyword}`);
}

const START = new Date('2025-01-02T03:04:05.678Z');
const END = new Date('2025-01-02T03:04:09Z');
const OPTIONS = { toolVersion: '0.1.0', startTime: START, endTime: END };

describe('GitLab container-scanning report 15.0.7', () => {
  const report: GitLabReport = toGitLab(ALL_REPORTS, OPTIONS);

  it('validates against the schema, as does the real Trivy report', () => {
    expect(errors(read('trivy-alpine-310.gitlab.golden.json'))).toEqual([]);
    expect(errors(report)).toEqual([]);
    expect(errors(toGitLab([emptyReport], OPTIONS))).toEqual([]);
    expect(
      errors(toGitLab([debianReport], { ...OPTIONS, defaultBranchImage: 'registry/app:main' })),
    ).toEqual([]);
  });

  it('fails a broken report', () => {
    const broken = structuredClone(report) as unknown as {
      scan: Record<string, unknown>;
      vulnerabilities: Record<string, unknown>[];
    };
    broken.scan.end_time = '2025-01-02T03:04:09.000Z';
    broken.vulnerabilities[0]!.severity = 'Severe';
    delete (broken.vulnerabilities[1]!.location as Record<string, unknown>).image;
    broken.vulnerabilities[2]!.identifiers = [];
    const found = errors(broken);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/scan\/end_time must match pattern/),
        expect.stringMatching(/^\/vulnerabilities\/0\/severity must be equal to one of/),
        expect.stringMatching(
          /^\/vulnerabilities\/1\/location must have required property 'image'/,
        ),
        expect.stringMatching(/^\/vulnerabilities\/2\/identifiers must NOT have fewer than 1/),
      ]),
    );
    expect(errors({ version: '15.0.7', vulnerabilities: [] })).not.toEqual([]);
  });

  it('describes the scan', () => {
    expect(report.version).toBe('15.0.7');
    expect(report.scan).toEqual({
      analyzer: { id: 'regscan', name: 'regscan', version: '0.1.0', vendor: { name: 'regscan' } },
      scanner: { id: 'regscan', name: 'regscan', version: '0.1.0', vendor: { name: 'regscan' } },
      type: 'container_scanning',
      start_time: '2025-01-02T03:04:05',
      end_time: '2025-01-02T03:04:09',
      status: 'success',
    });
  });

  it('writes one vulnerability per finding with GitLab severity, solution, location, identifiers', () => {
    expect(report.vulnerabilities).toHaveLength(6);
    const [critical, high, , low] = report.vulnerabilities;
    expect(critical).toMatchObject({
      name: 'openssl: buffer overflow in <script>alert(1)</script> X.509 parsing',
      severity: 'Critical',
      solution: 'Upgrade libssl3 to 3.0.15-1~deb12u1',
      location: {
        dependency: { package: { name: 'libssl3' }, version: '3.0.11-1~deb12u2' },
        operating_system: 'debian 12',
        image: '127.0.0.1:5000/group/app:1.0',
      },
      identifiers: [
        {
          type: 'cve',
          name: 'CVE-2024-0001',
          value: 'CVE-2024-0001',
          url: 'https://nvd.nist.gov/vuln/detail/CVE-2024-0001',
        },
        {
          type: 'debian',
          name: 'DEBIAN-CVE-2024-0001',
          value: 'DEBIAN-CVE-2024-0001',
          url: 'https://security-tracker.debian.org/tracker/CVE-2024-0001',
        },
      ],
      links: [
        { url: 'https://security-tracker.debian.org/tracker/CVE-2024-0001' },
        { url: 'https://www.openssl.org/news/secadv/20240101.txt' },
      ],
      cvss_vectors: [
        {
          vendor: 'Debian Security Tracker',
          vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
        },
      ],
    });
    expect(critical?.location.default_branch_image).toBeUndefined();
    // v4 vectors are not in GitLab's schema: only the v2 one stays.
    expect(high?.cvss_vectors).toEqual([
      { vendor: 'Debian Security Tracker', vector: 'AV:N/AC:M/Au:N/C:P/I:N/A:N' },
    ]);
    expect(high?.solution).toMatch(/^No solution yet/);
    expect(low?.severity).toBe('Low');
    expect(low?.solution).toMatch(/will not fix/);
    // eslint-disable-next-line no-control-regex
    expect(low?.name).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    const [busybox, musl] = report.vulnerabilities.slice(4);
    expect(busybox?.solution).toBe('Upgrade busybox to 1.36.1-r30 or 1.37.0-r0');
    expect(busybox?.identifiers.map((i) => i.type)).toEqual(['cve', 'ghsa']);
    expect(busybox?.location.image).toBe('registry.example/alpine:3.20');
    expect(busybox?.location.operating_system).toBe('alpine 3.20.3');
    expect(musl).toMatchObject({ severity: 'Unknown', name: 'ALPINE-XSA-123' });
    expect(musl?.identifiers[0]?.type).toBe('alpine');
  });

  it('gives stable UUID ids, unique per finding', () => {
    const ids = report.vulnerabilities.map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Another scan, later, of a rebuilt image (other digest, other installed version): same ids.
    const rebuilt: ScanReport[] = ALL_REPORTS.map((r) => ({
      image: {
        ...r.image,
        image: { ...r.image.image, manifestDigest: `sha256:${'9'.repeat(64)}` },
      },
      findings: r.findings.map((f) => ({ ...f, installedVersion: `${f.installedVersion}+b1` })),
    }));
    expect(toGitLab(rebuilt).vulnerabilities.map((v) => v.id)).toEqual(ids);
    // Two tags of one repository in one report: still unique.
    const twoTags = toGitLab([
      debianReport,
      {
        ...debianReport,
        image: {
          ...debianReport.image,
          image: {
            ...debianReport.image.image,
            tag: '1.1',
            manifestDigest: `sha256:${'8'.repeat(64)}`,
          },
        },
      },
    ]).vulnerabilities.map((v) => v.id);
    expect(new Set(twoTags).size).toBe(8);
    expect(uuidV5('a')).toBe(uuidV5('a'));
    expect(uuidV5('a')).not.toBe(uuidV5('b'));
  });

  it('keeps untrusted text from becoming HTML, and within the schema limits', () => {
    const hostile: ScanReport = {
      image: debianReport.image,
      findings: [
        finding({
          package: libssl3,
          advisoryId: 'CVE-2024-7777',
          summary: 'x'.repeat(400),
          details: '<img src=x onerror=alert(1)> & \u001b[31m bad\r\nline',
          fixedVersions: ['<b>9</b>'],
          fixState: 'fixed',
          references: ['javascript:alert(1)', 'https://ok.example/a', 'https://ok.example/a'],
        }),
      ],
    };
    const out = toGitLab([hostile], OPTIONS);
    expect(errors(out)).toEqual([]);
    const v = out.vulnerabilities[0]!;
    expect(v.name).toHaveLength(255);
    expect(v.description).toBe('&lt;img src=x onerror=alert(1)&gt; &amp; [31m bad\nline');
    expect(v.solution).toBe('Upgrade libssl3 to &lt;b&gt;9&lt;/b&gt;');
    expect(v.links).toEqual([{ url: 'https://ok.example/a' }]);
  });

  it('comes from renderReport("gitlab")', () => {
    const text = renderReport('gitlab', ALL_REPORTS, OPTIONS);
    expect(JSON.parse(text)).toEqual(report);
    expect(text.endsWith('}\n')).toBe(true);
  });
});
