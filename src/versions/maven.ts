import { InvalidVersionError, sign, type VersionScheme } from './types.js';

/**
 * Maven versions, ordered as Maven's `ComparableVersion` orders them (the "Version Order
 * Specification" of the POM reference). Written from that specification, the class's documented
 * behaviour and its test vectors, and checked against maven-artifact 3.9.6; not a port.
 *
 * A version is lower-cased and split into items: integers, strings and nested lists.
 * - `.` ends an item and stays in the current list; `-` ends an item and opens a sub-list; so does
 *   a transition between digits and letters (`1.0alpha1` = `1.0-alpha-1`). An empty item is `0`.
 * - A string directly followed by digits goes into a sub-list of its own when the current list
 *   already holds something, and so does a string at the very end: `.X` sorts as `-X` (MNG-7644:
 *   `2.0.abc` = `2-abc`, `1.0.0.RC1` < `1.0.0-RC2`). `a`, `b`, `m` directly followed by digits
 *   stand for alpha, beta, milestone.
 * - Then, list by list from the innermost, trailing null items are removed: `0`, an empty list, a
 *   release qualifier (`ga`, `final`, `release`); the trailing sub-list is passed over. So
 *   `1.0-alpha` = `1-alpha`, `1.0.0` = `1` and `1.0.Final` = `1`.
 * - Items compare integer > list > string. Strings compare by qualifier rank: alpha < beta <
 *   milestone < rc = cr < snapshot < "" = ga = final = release < sp < any other string, those
 *   lexically (UTF-16 code units; the version was lower-cased). A missing item compares as null:
 *   0 for an integer, the release rank for a string, and a list compares with it item by item.
 *
 * Two points follow current Maven (the Maven 4 test vectors) rather than Maven 3.9:
 * - only ASCII `0`-`9` are digits (Maven 3.9 also takes other Unicode digits);
 * - a release qualifier followed by a sub-list that starts with a string (`1.0.final-redhat`) is
 *   kept, ranking as the release, so `1.0.final-redhat` < `1.0-sp1-redhat` as the `sp` rank
 *   intends (MNG-7714). Maven 3.9 removes it and then orders `redhat` above `sp`. It is kept as
 *   the head of a sub-list (`1.0.final-redhat` = `1.0-final-redhat`), where a qualifier sorts
 *   consistently with the other sub-lists; kept as a plain string item, it would sort below any
 *   sub-list there (`1.0.final-redhat-1` < `1-alpha-1` < `1` < `1.0.final-redhat-1`). A fuzz
 *   against maven-artifact 3.9.6 finds no other difference.
 *
 * Every string is a version for Maven; `isValid` rejects only what cannot be one here: the empty
 * string, whitespace or control characters, and an unresolved property expression (`${...}`).
 */

type Item =
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'list'; readonly items: Item[] };

type ListItem = Extract<Item, { kind: 'list' }>;

/** Known qualifiers in ascending order; the empty string is the release itself. */
const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'] as const;
const ALIASES: Readonly<Record<string, string>> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_RANK = String(QUALIFIERS.indexOf(''));

/** The sort key of a string item; known qualifiers ("0".."6") sort below all others ("7-..."). */
function qualifierRank(value: string): string {
  const canonical = Object.hasOwn(ALIASES, value) ? (ALIASES[value] as string) : value;
  const index = (QUALIFIERS as readonly string[]).indexOf(canonical);
  return index >= 0 ? String(index) : `${QUALIFIERS.length}-${canonical}`;
}

function isNull(item: Item): boolean {
  return item.kind === 'int' ? item.value === 0n : item.kind === 'list' && item.items.length === 0;
}

function isReleaseQualifier(item: Item): boolean {
  return item.kind === 'str' && qualifierRank(item.value) === RELEASE_RANK;
}

function stringItem(token: string, followedByDigit: boolean): Item {
  if (followedByDigit && token.length === 1) {
    if (token === 'a') return { kind: 'str', value: 'alpha' };
    if (token === 'b') return { kind: 'str', value: 'beta' };
    if (token === 'm') return { kind: 'str', value: 'milestone' };
  }
  return { kind: 'str', value: token };
}

function tokenItem(token: string, digits: boolean): Item {
  return digits ? { kind: 'int', value: BigInt(token) } : stringItem(token, false);
}

function isAsciiDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function parse(version: string): ListItem {
  const text = version.toLowerCase();
  const root: ListItem = { kind: 'list', items: [] };
  const lists: ListItem[] = [root];
  let list = root;
  const openSubList = (): void => {
    const sub: ListItem = { kind: 'list', items: [] };
    list.items.push(sub);
    lists.push(sub);
    list = sub;
  };

  let digits = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */ || c === 0x2d /* - */) {
      list.items.push(
        i === start ? { kind: 'int', value: 0n } : tokenItem(text.slice(start, i), digits),
      );
      start = i + 1;
      if (c === 0x2d) openSubList();
    } else if (isAsciiDigit(c)) {
      if (!digits && i > start) {
        // letters then digits: the string goes into a list of its own, then the digits nest
        if (list.items.length > 0) openSubList();
        list.items.push(stringItem(text.slice(start, i), true));
        start = i;
        openSubList();
      }
      digits = true;
    } else {
      if (digits && i > start) {
        list.items.push(tokenItem(text.slice(start, i), true));
        start = i;
        openSubList();
      }
      digits = false;
    }
  }
  if (text.length > start) {
    // a trailing string after something else sorts as if it followed a hyphen
    if (!digits && list.items.length > 0) openSubList();
    list.items.push(tokenItem(text.slice(start), digits));
  }

  // innermost (latest opened) first, so that an emptied sub-list is trimmed by its parent
  for (let i = lists.length - 1; i >= 0; i--) trim(lists[i] as ListItem);
  return root;
}

/**
 * Removes trailing null items, passing over the trailing sub-list (only the last item of a list can
 * be a list). A release qualifier (`ga`, `final`, `release`) is null too, except when a sub-list
 * starting with a string follows it (MNG-7714: `final-redhat`, `final-sp`): then it is kept, as
 * the head of a sub-list with what follows it, so `1.0.final-redhat` sorts as `1.0-final-redhat`.
 */
function trim(list: ListItem): void {
  const items = list.items;
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as Item;
    if (item.kind === 'list' && item.items.length > 0) continue;
    if (isReleaseQualifier(item)) {
      const next = items[i + 1];
      if (next?.kind === 'list' && next.items[0]?.kind === 'str') {
        if (i > 0) items.splice(i, 2, { kind: 'list', items: [item, next] });
        continue;
      }
      items.splice(i, 1);
    } else if (isNull(item)) {
      items.splice(i, 1);
    } else {
      break;
    }
  }
}

/** Compares an item with a missing one. */
function compareWithNull(item: Item): number {
  switch (item.kind) {
    case 'int':
      return item.value === 0n ? 0 : 1;
    case 'str':
      return compareStrings(qualifierRank(item.value), RELEASE_RANK);
    case 'list':
      for (const child of item.items) {
        const result = compareWithNull(child);
        if (result !== 0) return result;
      }
      return 0;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const KIND_ORDER = { str: 0, list: 1, int: 2 } as const;

function compareItems(a: Item | undefined, b: Item | undefined): number {
  if (a === undefined) return b === undefined ? 0 : -compareWithNull(b);
  if (b === undefined) return compareWithNull(a);
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  if (a.kind === 'int' && b.kind === 'int') {
    return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  }
  if (a.kind === 'str' && b.kind === 'str') {
    return compareStrings(qualifierRank(a.value), qualifierRank(b.value));
  }
  const left = (a as ListItem).items;
  const right = (b as ListItem).items;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const result = compareItems(left[i], right[i]);
    if (result !== 0) return result;
  }
  return 0;
}

function isValid(version: string): boolean {
  return version.length > 0 && !/[\s\p{Cc}\p{Cf}]/u.test(version) && !version.includes('${');
}

function parseValid(version: string): ListItem {
  if (!isValid(version)) throw new InvalidVersionError('maven', version);
  return parse(version);
}

export const mavenScheme: VersionScheme = {
  id: 'maven',
  isValid,
  compare(a: string, b: string): -1 | 0 | 1 {
    return sign(compareItems(parseValid(a), parseValid(b)));
  },
};

/** The parsed item tree, in Maven's `[1, [alpha, [1]]]` notation; for tests and diagnostics. */
export function mavenItems(version: string): string {
  const show = (item: Item): string =>
    item.kind === 'list' ? `[${item.items.map(show).join(', ')}]` : String(item.value);
  return show(parseValid(version));
}
