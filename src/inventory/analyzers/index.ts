import type { Analyzer } from '../analyzer.js';
import { apkAnalyzer } from './apk.js';
import { cargoAnalyzer } from './cargo.js';
import { composerAnalyzer } from './composer.js';
import { dotnetAnalyzer } from './dotnet.js';
import { dpkgAnalyzer } from './dpkg.js';
import { gobinaryAnalyzer } from './gobinary.js';
import { javaAnalyzer } from './java.js';
import { npmAnalyzer } from './npm.js';
import { osReleaseAnalyzer } from './os-release.js';
import { pythonAnalyzer } from './python.js';
import { rpmAnalyzer } from './rpm.js';
import { rubyAnalyzer } from './ruby.js';

/**
 * Every analyzer, in one explicit list (no registration by import side effect). A new package
 * source is one file in this folder plus its line here; the contract test runs over this list.
 */
export const ANALYZERS: readonly Analyzer[] = [
  osReleaseAnalyzer,
  dpkgAnalyzer,
  apkAnalyzer,
  rpmAnalyzer,
  npmAnalyzer,
  pythonAnalyzer,
  gobinaryAnalyzer,
  cargoAnalyzer,
  javaAnalyzer,
  rubyAnalyzer,
  composerAnalyzer,
  dotnetAnalyzer,
];
