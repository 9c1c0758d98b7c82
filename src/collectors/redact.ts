// Keeps API keys out of everything we write down: stored request URLs, error text and log lines.
const SECRET_PARAM = /(key|token|secret|auth|signature|password|sig|credential)/i;
export const REDACTED = '[REDACTED]';

export interface Redactor {
  /** Replaces every known secret value inside a piece of text. */
  text(s: string): string;
  /** A URL with secret-looking query parameters and any user-info removed, then every known secret replaced. */
  url(u: string): string;
  /** True when a stored body would carry one of our secrets (checked on the bytes, no decoding). */
  containsSecret(bytes: Buffer): boolean;
}

export function createRedactor(secrets: Iterable<string | undefined>): Redactor {
  // Longest first, so that a secret containing another is replaced whole.
  const values = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  const text = (s: string): string => {
    let out = s;
    for (const v of values) {
      out = out.split(v).join(REDACTED);
      const encoded = encodeURIComponent(v);
      if (encoded !== v) out = out.split(encoded).join(REDACTED);
    }
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
  const containsSecret = (bytes: Buffer): boolean => values.some((v) => bytes.includes(v) || bytes.includes(encodeURIComponent(v)));
  return { text, url, containsSecret };
}
