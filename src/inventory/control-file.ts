/**
 * Debian control-file syntax (deb822): paragraphs separated by blank lines, `Field: value` lines,
 * continuation lines starting with a space or tab. Used by dpkg's status database and, with
 * different field names, by other package databases.
 */
export interface ControlParagraph {
  /** Field names are case-insensitive: keys are lower case. Continuations are joined with `\n`. */
  fields: Map<string, string>;
  /** 1-based line number where the paragraph starts, for warnings. */
  line: number;
}

export function parseControlParagraphs(text: string): ControlParagraph[] {
  const out: ControlParagraph[] = [];
  let fields = new Map<string, string>();
  let start = 0;
  let last: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') {
      if (fields.size > 0) out.push({ fields, line: start + 1 });
      fields = new Map();
      last = undefined;
      continue;
    }
    if (fields.size === 0 && last === undefined) start = i;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      fields.set(last, `${fields.get(last)}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // not a field: ignore the line, keep the paragraph
    last = line.slice(0, colon).trim().toLowerCase();
    fields.set(last, line.slice(colon + 1).trim());
  }
  if (fields.size > 0) out.push({ fields, line: start + 1 });
  return out;
}
