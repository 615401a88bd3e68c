import type { Analyzer } from '../analyzer.js';
import { apkAnalyzer } from './apk.js';
import { dpkgAnalyzer } from './dpkg.js';
import { osReleaseAnalyzer } from './os-release.js';
import { rpmAnalyzer } from './rpm.js';

/**
 * Every analyzer, in one explicit list (no registration by import side effect). A new package
 * source is one file in this folder plus its line here; the contract test runs over this list.
 */
export const ANALYZERS: readonly Analyzer[] = [
  osReleaseAnalyzer,
  dpkgAnalyzer,
  apkAnalyzer,
  rpmAnalyzer,
];
