// Keeps API keys out of everything we write down: stored request URLs, error text, log lines and stored bodies,
// including the forms a venue may echo a key back in: another letter case, URL-encoded, or base64 (alone or inside
// a longer base64 string such as a Basic authorization value).
const SECRET_PARAM = /(key|token|secret|auth|signature|password|sig|credential)/i;
export const REDACTED = '[REDACTED]';

export interface Redactor {
  /** Replaces every known secret value, in any of its echoed forms, inside a piece of text. */
  text(s: string): string;
  /** A URL with secret-looking query parameters and any user-info removed, then every known secret replaced. */
  url(u: string): string;
  /** True when a stored body would carry one of our secrets in any of its echoed forms. */
  containsSecret(bytes: Buffer): boolean;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * The runs of base64 characters that encode `secret` whatever bytes surround it: for each of the three alignments,
 * the characters that depend on the secret's bytes alone (standard and URL-safe alphabets).
 */
export function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out = new Set<string>();
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + bytes.length)) / 6);
    const core = encoded.slice(from, to);
    if (core.length >= 8) {
      out.add(core);
      out.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...out];
}

export function createRedactor(secrets: Iterable<string | undefined>): Redactor {
  // Longest first, so that a secret containing another is replaced whole.
  const values = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
  // Case-insensitive forms (the value and its URL encoding), then case-sensitive ones (base64 is case-sensitive).
  const anyCase = values.flatMap((v) => [...new Set([v, encodeURIComponent(v)])]);
  const exact = values.flatMap((v) => base64Forms(v));
  const anyCasePattern = anyCase.length ? new RegExp(anyCase.map(escapeRegExp).join('|'), 'gi') : null;
  const exactPattern = exact.length
    ? new RegExp(
        exact
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      )
    : null;
  const text = (s: string): string => {
    let out = s;
    if (anyCasePattern) out = out.replace(anyCasePattern, REDACTED);
    if (exactPattern) out = out.replace(exactPattern, REDACTED);
    return out;
  };
  const url = (u: string): string => {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      return text(u);
    }
    if (parsed.username) parsed.username = REDACTED;
    if (parsed.password) parsed.password = REDACTED;
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, REDACTED);
    }
    return text(parsed.toString());
  };
  const containsSecret = (bytes: Buffer): boolean => {
    if (values.length === 0) return false;
    const s = bytes.toString('latin1');
    anyCasePattern!.lastIndex = 0;
    if (anyCasePattern!.test(s)) return true;
    if (!exactPattern) return false;
    exactPattern.lastIndex = 0;
    return exactPattern.test(s);
  };
  return { text, url, containsSecret };
}
