import { describe, expect, it } from 'vitest';
import { renderJson, toJsonReport } from '../../src/report/json.js';
import { ALL_REPORTS, debianReport, emptyReport } from './scan-reports.js';

describe('JSON report', () => {
  it('has schemaVersion 1 and one entry per image with package count, summary and findings', () => {
    const doc = JSON.parse(renderJson(ALL_REPORTS)) as ReturnType<typeof toJsonReport>;
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'images']);
    expect(doc.schemaVersion).toBe(1);
    expect(doc.images).toHaveLength(3);
    const [debian, alpine, empty] = doc.images;
    expect(debian?.image.manifestDigest).toBe(debianReport.image.image.manifestDigest);
    expect(debian?.distro?.id).toBe('debian');
    expect(debian?.packageCount).toBe(4);
    expect(debian?.summary).toEqual({
      total: 4,
      critical: 2,
      high: 1,
      medium: 0,
      low: 1,
      negligible: 0,
      unknown: 0,
    });
    expect(debian?.findings.map((f) => [f.package.name, f.advisoryId])).toEqual([
      ['libssl3', 'DEBIAN-CVE-2024-0001'],
      ['libssl3', 'DEBIAN-CVE-2024-0002'],
      ['openssl', 'DEBIAN-CVE-2024-0001'],
      ['tar', 'DEBIAN-CVE-2005-2541'],
    ]);
    expect(alpine?.summary.total).toBe(2);
    expect(empty).toMatchObject({ packageCount: 0, findings: [] });
    expect(empty?.distro).toBeUndefined();
    // Untrusted text is kept as data; JSON escapes its control characters.
    expect(debian?.findings[3]?.summary).toContain('\u001b[31m');
  });

  it('is stable: the same bytes whatever the order of findings, keys sorted', () => {
    const reversed = ALL_REPORTS.map((r) => ({ ...r, findings: [...r.findings].reverse() }));
    const text = renderJson(ALL_REPORTS);
    expect(renderJson(reversed)).toBe(text);
    expect(text.endsWith('}\n')).toBe(true);
    const image = (JSON.parse(text) as { images: Record<string, unknown>[] }).images[0] ?? {};
    expect(Object.keys(image)).toEqual([...Object.keys(image)].sort());
    expect(renderJson([])).toBe('{\n  "schemaVersion": 1,\n  "images": []\n}\n');
    expect(toJsonReport([emptyReport]).images[0]?.summary.total).toBe(0);
  });
});
