import { ImageError } from '../types.js';

/** One entry of a registry's error body: `{"errors":[{"code","message","detail"}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/**
 * A request the registry (or its token server, or blob storage it redirected to) refused, or
 * that never got an answer. `status` is absent for network failures; `code` is the first
 * registry error code (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `UNAUTHORIZED`, `DENIED`,
 * `TOOMANYREQUESTS`, ...), when the body had one.
 */
export class RegistryError extends ImageError {
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly errors: RegistryErrorEntry[];

  constructor(message: string, status?: number, errors: RegistryErrorEntry[] = []) {
    super(message);
    this.status = status;
    this.errors = errors;
    this.code = errors[0]?.code;
  }
}

/**
 * A connection the client's `allowAddress` policy refused: the registry's host (or a host it
 * redirected to, or its token server) is, or resolves to, an address the client may not reach.
 * Checked before connecting, so no request was sent. Not worth retrying.
 */
export class AddressNotAllowedError extends RegistryError {
  constructor(
    readonly address: string,
    readonly host: string,
    redirectedFrom?: string,
  ) {
    super(
      `registry address ${address} (of host ${host}) is not allowed${redirectedFrom ? ` (redirected from ${redirectedFrom})` : ''}`,
    );
  }
}

/** Parses a distribution-spec error body; returns [] when it is not one. */
export function parseErrorBody(text: string): RegistryErrorEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (doc as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(list)) return [];
  const out: RegistryErrorEntry[] = [];
  for (const e of list) {
    if (typeof e !== 'object' || e === null) continue;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code !== 'string' && typeof message !== 'string') continue;
    out.push({
      code: typeof code === 'string' ? code : 'UNKNOWN',
      message: typeof message === 'string' ? message : '',
    });
  }
  return out;
}

/** `MANIFEST_UNKNOWN: manifest unknown; ...`, or the start of a non-JSON body. */
export function describeErrorBody(errors: RegistryErrorEntry[], text: string): string {
  if (errors.length > 0) {
    return errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
  }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return snippet;
}
