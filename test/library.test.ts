import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ANALYZERS } from '../src/inventory/analyzers/index.js';
import { testImages } from './support/images.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The package's main export (built JavaScript, package.json "exports") is the scanning core. */
describe('regscan as a library', () => {
  it('is importable by name from the built package and inventories an image', async () => {
    const { ociLayout } = await testImages();
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
    const script = `
      import { inventoryImage, renderSbom, ANALYZERS } from 'regscan';
      const [r] = await inventoryImage(process.argv[1]);
      const bom = JSON.parse(renderSbom('cyclonedx', [r]));
      console.log(JSON.stringify({ analyzers: ANALYZERS.map((a) => a.id), packages: r.inventory.packages.length, spec: bom.specVersion }));
    `;
    // self-reference by package name resolves through package.json "exports"
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', script, `oci:${ociLayout}:distroless`],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({
      analyzers: ANALYZERS.map((a) => a.id),
      packages: 5,
      spec: '1.6',
    });
  });
});
