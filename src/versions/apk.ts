import { InvalidVersionError, type VersionScheme, memoize } from './types.js';

/**
 * Alpine (apk) versions, validated and ordered as current apk-tools does (`src/version.c` since
 * the 2024 rewrite: the rules its `test/unit/version.data` pins down, commit hashes included):
 *
 *     digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-r digits}
 *
 * A version is a sequence of tokens, each allowed only after the ones before it in that order:
 * - the initial number (required);
 * - `.` and a number, any number of times, right after a number;
 * - one lowercase letter `a`–`z`, right after a number;
 * - `_` and a suffix name, each optionally followed directly by a number, any number of times:
 *   `alpha`, `beta`, `pre`, `rc` sort before the bare version, `cvs`, `svn`, `git`, `hg`, `p`
 *   after it, in that order;
 * - `~` and a commit hash of lowercase hex digits, once;
 * - `-r` and the package release number, once, last.
 * Anything else (an unknown suffix, an uppercase letter, a second letter, a dangling `.`/`_`/`~`,
 * `-` not followed by `r` and digits, anything after the release) makes the version invalid.
 *
 * Ordering walks both versions token by token while the token kinds agree:
 * - numbers compare numerically (at any length: apk-tools' 64-bit counters wrap past
 *   18446744073709551615, this does not), except a dotted number when either side starts with
 *   `0`, which compares as text (`1.01` < `1.1`, `8.2.0` < `8.2.001`, as Gentoo does);
 * - letters by letter, suffixes by the order above, commit hashes as text.
 * When one version runs out of tokens or the kinds differ, a pre-release suffix (`_alpha` … `_rc`)
 * sorts lower; otherwise the version whose next token comes earlier in the list above is the
 * greater one (`1.0.1` > `1.0a` > `1.0_p1` > `1.0~ab` > `1.0-r1` > `1.0`).
 */
export const apkScheme: VersionScheme = {
  id: 'apk',
  isValid(version: string): boolean {
    return tokenize(version).at(-1)?.kind === END;
  },
  compare(a: string, b: string): -1 | 0 | 1 {
    return compareTokens(validTokens(a), validTokens(b), false);
  },
};

/**
 * apk-tools' own comparison of two version strings, including what it does when one of them is
 * invalid (it compares up to the first invalid token, which then sorts after everything). Only for
 * checking this module against apk-tools' test data; matching must use `apkScheme.compare`, which
 * refuses invalid versions. With `fuzzy`, a version equals any version it starts with token by
 * token (apk's `~` dependency operator: `3.6.1 ~ 3.6`).
 */
export function apkToolsCompare(a: string, b: string, fuzzy = false): -1 | 0 | 1 {
  return compareTokens(tokenize(a), tokenize(b), fuzzy);
}

// Token kinds, in the order they may appear (the order is part of the comparison).
const INITIAL_DIGIT = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const COMMIT_HASH = 5;
const REVISION_NO = 6;
const END = 7;
const INVALID = 8;

/** Suffix ranks; the bare version sits at NO_SUFFIX, between pre-release and post-release. */
const NO_SUFFIX = 5;
const SUFFIX_RANK: Readonly<Record<string, number>> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};

interface Token {
  kind: number;
  /** The token's text: digits, the letter, the suffix name or the hash; for INVALID, the rest. */
  text: string;
  /** Suffix rank, for SUFFIX tokens. */
  rank: number;
}

const DIGITS = /[0-9]*/y;
const LOWER = /[a-z]*/y;
const HEX = /[0-9a-f]*/y;

function run(pattern: RegExp, s: string, at: number): string {
  pattern.lastIndex = at;
  return pattern.exec(s)?.[0] ?? '';
}

/** The version's tokens; the last is END for a valid version, INVALID otherwise. */
function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  const push = (kind: number, text = '', rank = 0): void => {
    tokens.push({ kind, text, rank });
  };
  // Data from JSON may not hold a string where the types say so.
  if (typeof s !== 'string') {
    push(INVALID, String(s));
    return tokens;
  }
  const first = run(DIGITS, s, 0);
  if (first === '') {
    push(INVALID, s);
    return tokens;
  }
  push(INITIAL_DIGIT, first);
  let pos = first.length;
  let prev = INITIAL_DIGIT;
  for (;;) {
    if (pos >= s.length) {
      push(END);
      return tokens;
    }
    const start = pos;
    const c = s[pos]!;
    let kind = INVALID;
    let text = '';
    let rank = 0;
    if (c >= 'a' && c <= 'z') {
      if (prev <= DIGIT) {
        kind = LETTER;
        text = c;
        pos++;
      }
    } else if (c === '.') {
      if (prev <= DIGIT) {
        text = run(DIGITS, s, pos + 1);
        pos += 1 + text.length;
        if (text !== '') kind = DIGIT;
      }
    } else if (c >= '0' && c <= '9') {
      // Only reachable right after a suffix name (a number always takes all its digits).
      if (prev === SUFFIX) {
        text = run(DIGITS, s, pos);
        pos += text.length;
        kind = SUFFIX_NO;
      }
    } else if (c === '_') {
      if (prev <= SUFFIX_NO) {
        text = run(LOWER, s, pos + 1);
        pos += 1 + text.length;
        const r = Object.hasOwn(SUFFIX_RANK, text) ? SUFFIX_RANK[text] : undefined;
        if (r !== undefined) {
          kind = SUFFIX;
          rank = r;
        }
      }
    } else if (c === '~') {
      if (prev < COMMIT_HASH) {
        text = run(HEX, s, pos + 1);
        pos += 1 + text.length;
        if (text !== '') kind = COMMIT_HASH;
      }
    } else if (c === '-') {
      if (prev < REVISION_NO && s[pos + 1] === 'r') {
        text = run(DIGITS, s, pos + 2);
        pos += 2 + text.length;
        if (text !== '') kind = REVISION_NO;
      }
    }
    if (kind === INVALID) {
      push(INVALID, s.slice(start));
      return tokens;
    }
    push(kind, text, rank);
    prev = kind;
  }
}

const validTokens = memoize(function validTokens(version: string): Token[] {
  const tokens = tokenize(version);
  const last = tokens.at(-1);
  if (last?.kind !== END) {
    const reason =
      typeof version !== 'string'
        ? 'not a string'
        : version === ''
          ? 'empty'
          : last?.text === version
            ? 'does not start with a number'
            : `cannot go on at "${last?.text ?? ''}"`;
    throw new InvalidVersionError('apk', version, reason);
  }
  return tokens;
});

/** Numeric order of two digit strings of any length. */
function compareNumbers(a: string, b: string): -1 | 0 | 1 {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Byte order (the strings are ASCII), a prefix first. */
function compareText(a: string, b: string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareToken(a: Token, b: Token): -1 | 0 | 1 {
  switch (a.kind) {
    case DIGIT:
      if (a.text.startsWith('0') || b.text.startsWith('0')) return compareText(a.text, b.text);
      return compareNumbers(a.text, b.text);
    case INITIAL_DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      return compareNumbers(a.text, b.text);
    case LETTER:
      return compareText(a.text, b.text);
    case SUFFIX:
      return a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0;
    default:
      return compareText(a.text, b.text);
  }
}

function compareTokens(a: Token[], b: Token[], fuzzy: boolean): -1 | 0 | 1 {
  let i = 0;
  let ta = a[0]!;
  let tb = b[0]!;
  while (ta.kind === tb.kind && ta.kind < END) {
    const r = compareToken(ta, tb);
    if (r !== 0) return r;
    i++;
    ta = a[i]!;
    tb = b[i]!;
  }
  if (ta.kind === tb.kind) return 0;
  if (fuzzy && tb.kind === END) return 0;
  // Equal so far: a pre-release suffix makes its side the lesser ...
  if (ta.kind === SUFFIX && ta.rank < NO_SUFFIX) return -1;
  if (tb.kind === SUFFIX && tb.rank < NO_SUFFIX) return 1;
  // ... otherwise the side whose next token kind comes earlier is the greater.
  return ta.kind > tb.kind ? -1 : 1;
}
