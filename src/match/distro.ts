import { DEBIAN_RELEASES } from '../advisories/debian-tracker.js';
import type { Distro, PackageType } from '../inventory/types.js';

/**
 * From an image's distribution (os-release) to the OSV ecosystems its OS packages are looked up
 * in. What real records use (schemas/osv/ecosystems.json and the records OSV.dev publishes):
 *
 * | os-release `ID`  | ecosystems searched                                                  |
 * |------------------|-----------------------------------------------------------------------|
 * | `debian`         | `Debian:12` (major of VERSION_ID; else the codename's number, `sid`) |
 * | `ubuntu`         | `Ubuntu:22.04:LTS`, `Ubuntu:22.04`; then `Ubuntu:Pro:22.04:LTS`       |
 * | `alpine`         | `Alpine:v3.20` (major.minor of VERSION_ID)                            |
 * | `rhel`           | `Red Hat:enterprise_linux:9::baseos`, `::appstream`, `::crb`, ...   |
 * | `rocky`          | `Rocky Linux:9`                                                       |
 * | `almalinux`      | `AlmaLinux:9`                                                         |
 * | `wolfi`          | `Wolfi`                                                               |
 * | `chainguard`     | `Chainguard`, `Wolfi`                                                 |
 * | `mageia`         | `Mageia:9`                                                            |
 *
 * Ubuntu: OSV writes LTS releases `Ubuntu:22.04:LTS` (the `:LTS` suffix is mandatory for them) and
 * fixes that only Ubuntu Pro (ESM) ships under `Ubuntu:Pro:22.04:LTS`. A record lists a package
 * under Pro when the fix is only in ESM (universe packages, releases past standard support), so
 * the installed archive version is still affected; Pro is therefore a second tier, consulted for
 * an advisory only when it has no entry for the package in the standard ecosystems. The bare
 * `Ubuntu:22.04` is searched too, for records written without the suffix.
 *
 * Red Hat: OSV scopes Red Hat records by CPE, one ecosystem per product stream and repository
 * (`Red Hat:enterprise_linux:9::baseos`, `Red Hat:enterprise_linux:9::appstream`, `::crb`; RHEL
 * 7 `::server`; RHEL 10 records are seen as `Red Hat:enterprise_linux:10.0`). An image does not
 * say which repository a package came from, so all of the release's standard streams are peers
 * (an advisory matches when any of them says so). EUS/E4S/AUS streams (`rhel_eus`, ...) are
 * not searched: images are built from the standard repositories.
 *
 * Not mapped, because ecosystems.json defines no ecosystem for them (or its names cannot be
 * derived from os-release alone): Amazon Linux (`amzn`), Oracle Linux (`ol`), CentOS, Fedora,
 * SUSE/openSUSE (keyed by product and module names), openEuler, Azure Linux, Alpaquita. Photon
 * OS has an ecosystem (`Photon OS:5.0`) but no version scheme registered in versions/index.ts
 * yet. Their packages get no findings and the matcher says so in a warning.
 */

/** The ecosystems of a distribution's OS packages. */
export interface DistroEcosystems {
  /** The package type of the distribution's package manager. */
  packageType: PackageType;
  /**
   * Ecosystems in tiers. Within a tier the ecosystems are peers (a match in any counts); a later
   * tier is consulted for an advisory only when no earlier tier has an entry for the package.
   */
  tiers: string[][];
}

export type DistroMapping =
  ({ supported: true } & DistroEcosystems) | { supported: false; reason: string };

/** The OSV ecosystems an image's OS packages are matched in. */
export function distroEcosystems(distro: Distro): DistroMapping {
  const id = distro.id.toLowerCase();
  const version = distro.versionId?.trim();
  const major = version ? /^(\d+)(?:\.|$)/.exec(version)?.[1] : undefined;
  const unsupported = (reason: string): DistroMapping => ({ supported: false, reason });
  const noVersion = (): DistroMapping =>
    unsupported(`${describe(distro)}: no release version to choose an advisory ecosystem`);

  switch (id) {
    case 'debian': {
      if (major) return ok('deb', [[`Debian:${major}`]]);
      const number = distro.codename ? DEBIAN_RELEASES[distro.codename.toLowerCase()] : undefined;
      return number ? ok('deb', [[`Debian:${number}`]]) : noVersion();
    }
    case 'ubuntu': {
      const m = version ? /^(\d+)\.(\d+)$/.exec(version) : null;
      if (!m) return noVersion();
      const release = `${m[1]!}.${m[2]!}`;
      if (!isUbuntuLts(release)) return ok('deb', [[`Ubuntu:${release}`]]);
      return ok('deb', [
        [`Ubuntu:${release}:LTS`, `Ubuntu:${release}`],
        [`Ubuntu:Pro:${release}:LTS`],
      ]);
    }
    case 'alpine': {
      const m = version ? /^(\d+)\.(\d+)(?:[._]|$)/.exec(version) : null;
      return m ? ok('apk', [[`Alpine:v${m[1]!}.${m[2]!}`]]) : noVersion();
    }
    case 'rhel': {
      if (!major) return noVersion();
      const base = `Red Hat:enterprise_linux:${major}`;
      const streams = Number(major) <= 7 ? ['server'] : ['baseos', 'appstream', 'crb'];
      const peers = [...streams.map((s) => `${base}::${s}`), base];
      if (version && version !== major && /^\d+\.\d+$/.test(version)) {
        peers.push(`Red Hat:enterprise_linux:${version}`);
      }
      return ok('rpm', [peers]);
    }
    case 'rocky':
      return major ? ok('rpm', [[`Rocky Linux:${major}`]]) : noVersion();
    case 'almalinux':
      return major ? ok('rpm', [[`AlmaLinux:${major}`]]) : noVersion();
    case 'wolfi':
      return ok('apk', [['Wolfi']]);
    case 'chainguard':
      return ok('apk', [['Chainguard', 'Wolfi']]);
    case 'mageia':
      return major ? ok('rpm', [[`Mageia:${major}`]]) : noVersion();
    default:
      return unsupported(`${describe(distro)}: OSV has no advisory ecosystem regscan maps it to`);
  }
}

/**
 * Ubuntu's long-term-support releases: April releases of even years (`22.04`, `24.04`), and the
 * first one, 6.06.
 */
export function isUbuntuLts(release: string): boolean {
  if (release === '6.06') return true;
  const m = /^(\d+)\.04$/.exec(release);
  return m !== null && Number(m[1]) >= 8 && Number(m[1]) % 2 === 0;
}

function ok(packageType: PackageType, tiers: string[][]): DistroMapping {
  return { supported: true, packageType, tiers };
}

function describe(distro: Distro): string {
  const version = distro.versionId ?? distro.codename;
  const text = version ? `${distro.id} ${version}` : distro.id;
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
