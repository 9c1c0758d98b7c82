// What a `--db` / `GPUIDX_DB` value names, read without loading any database driver (the CLI decides with it before
// it loads storage).

/** True when `target` (a `--db` / `GPUIDX_DB` value) names a PostgreSQL database rather than a SQLite file. */
export function isPostgresTarget(target: string): boolean {
  return /^postgres(ql)?:/i.test(target);
}

/** A target as it may be shown: a file path as given, a URL without its password. */
export function describeTarget(target: string): string {
  if (!isPostgresTarget(target)) return target;
  try {
    const url = new URL(target);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
