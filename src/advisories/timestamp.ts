/**
 * OSV timestamps, apart from the schema: the advisory store compares them and must not load the
 * validation library to do so (it is most of regscan's start-up time).
 */

/**
 * RFC 3339 date-time. OSV asks for UTC ending in `Z`; offsets and the space separator RFC 3339
 * allows are accepted too (found in real records) and compared by their instant.
 */
export const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A timestamp as a string that sorts like the instant it names: UTC, nanosecond digits
 * (`2021-07-05T00:01:25.360500000Z`). Undefined when it is not an RFC 3339 date-time.
 */
export function canonicalTimestamp(value: string): string | undefined {
  const m = TIMESTAMP_RE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m as unknown as string[];
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  // 60 is a leap second; Date folds it into the next minute, which sorts correctly.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute - offsetMinutes, second);
  if (!Number.isFinite(ms)) return undefined;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  if (iso.length !== 24) return undefined; // years outside 0000–9999
  return `${iso.slice(0, 19)}.${frac.padEnd(9, '0')}Z`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
