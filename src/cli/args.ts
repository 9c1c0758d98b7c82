// What the command-line parsers share: the usage error (exit 2) and the UTC date argument.
import { z } from 'zod';

/** A bad command-line argument: reported in one line, exit code 2. */
export class UsageError extends Error {}

const dateArg = z.iso.date();

export function parseDate(flag: string, value: string): string {
  const d = dateArg.safeParse(value);
  if (!d.success) throw new UsageError(`${flag} must be a UTC date YYYY-MM-DD, got "${value}"`);
  return d.data;
}

/** A calendar month, YYYY-MM (01 to 12). */
export const monthArg = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/);

export function parseMonth(flag: string, value: string): string {
  const m = monthArg.safeParse(value);
  if (!m.success) throw new UsageError(`${flag} must be a month YYYY-MM, got "${value}"`);
  return m.data;
}

export function parseWholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** Every date from `from` to `to`, inclusive. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
