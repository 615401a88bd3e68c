/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1):
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 * One header may carry several challenges separated by commas, and quoted values may themselves
 * contain commas (`scope="repository:a:pull,push"`), so a plain split on "," is wrong.
 */

export interface AuthChallenge {
  /** Lower-cased scheme: `bearer`, `basic`, ... */
  scheme: string;
  /** Parameters with lower-cased names; values unquoted. */
  params: Record<string, string>;
  /** A token68 value (`Negotiate abc==`), when the challenge carries one instead of parameters. */
  token68?: string;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[-._~+/0-9A-Za-z]/;

export function parseAuthChallenges(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseAuthChallenges(h));
  const p = new Parser(header);
  const out: AuthChallenge[] = [];
  for (;;) {
    p.skipListSeparators();
    if (p.done()) return out;
    const scheme = p.token();
    if (scheme === '') {
      // Not a challenge: skip to the next comma so one bad part does not hide the others.
      p.skipUntilComma();
      continue;
    }
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    p.skipSpaces();
    // token68: a run of token68 characters plus trailing '=' padding, not followed by '='-param syntax.
    const token68 = p.tryToken68();
    if (token68 !== undefined) {
      challenge.token68 = token68;
      continue;
    }
    // auth-params until the next thing that is a new challenge (a token not followed by '=').
    for (;;) {
      const save = p.pos;
      p.skipListSeparators();
      if (p.done()) break;
      const name = p.token();
      p.skipSpaces();
      if (name === '' || !p.eat('=')) {
        // Start of the next challenge (or garbage): rewind to before the separators.
        p.pos = save;
        break;
      }
      p.skipSpaces();
      const value = p.peek() === '"' ? p.quoted() : p.token();
      challenge.params[name.toLowerCase()] = value;
      p.skipSpaces();
      if (!p.done() && p.peek() !== ',') {
        // Junk after a value: drop it up to the next comma.
        p.skipUntilComma();
      }
    }
  }
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos++;
    return true;
  }
  skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  skipListSeparators(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  skipUntilComma(): void {
    while (!this.done() && this.peek() !== ',') {
      if (this.peek() === '"') this.quoted();
      else this.pos++;
    }
  }
  token(): string {
    const start = this.pos;
    while (!this.done() && TOKEN_CHAR.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  quoted(): string {
    this.pos++; // opening quote
    let value = '';
    while (!this.done()) {
      const ch = this.peek();
      this.pos++;
      if (ch === '"') return value;
      if (ch === '\\' && !this.done()) {
        value += this.peek();
        this.pos++;
      } else {
        value += ch;
      }
    }
    return value; // unterminated: take what there is
  }
  /**
   * A token68 (`Negotiate YWJj==`) is the whole rest of a challenge: token68 characters, then
   * optional '=' padding, then a comma or the end. `realm="x"` and `realm=x` are parameters: the
   * scan stops at their '=' and finds more text after it.
   */
  tryToken68(): string | undefined {
    const start = this.pos;
    while (!this.done() && TOKEN68_CHAR.test(this.peek())) this.pos++;
    if (this.pos === start) return undefined;
    while (this.peek() === '=') this.pos++;
    const end = this.pos;
    this.skipSpaces();
    if (this.done() || this.peek() === ',') return this.text.slice(start, end);
    this.pos = start;
    return undefined;
  }
}
