// Response bodies that follow from what is published (history, CSV), built once per publication instead of once per
// request. The newest fixing id is the publication's generation: read at most once per `ttlMs`, so a new
// publication or restatement made by another process is served within that time, and every body built before it
// is dropped.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface CachedBody {
  body: string;
  /** Strong ETag of the body. */
  etag: string;
  /** The body as UTF-8 bytes, encoded once (a year of history is over 400 KB). */
  bytes?: Uint8Array<ArrayBuffer>;
  /** The body gzip-compressed, made the first time a client accepts gzip. */
  gzip?: Uint8Array<ArrayBuffer>;
}

export interface PublicationCache {
  /** The body for `key` in the current generation, built by `build` the first time it is asked for. */
  body(key: string, build: () => Promise<string>): Promise<CachedBody>;
  /** The entry's body as bytes, encoded once. */
  bytes(entry: CachedBody): Uint8Array<ArrayBuffer>;
  /** The entry's body, gzip-compressed once. */
  gzip(entry: CachedBody): Uint8Array<ArrayBuffer>;
}

export function publicationCache(opts: { generation: () => Promise<number>; ttlMs: number; maxEntries?: number }): PublicationCache {
  const maxEntries = opts.maxEntries ?? 1000;
  const entries = new Map<string, CachedBody>();
  let generation = Number.NaN;
  let checkedUntil = 0;
  let checking: Promise<void> | null = null;
  const refresh = async () => {
    const now = performance.now();
    if (now < checkedUntil) return;
    // One generation query at a time, however many requests arrive while it runs.
    checking ??= opts.generation().then(
      (g) => {
        if (g !== generation) entries.clear();
        generation = g;
        checkedUntil = performance.now() + opts.ttlMs;
        checking = null;
      },
      (err: unknown) => {
        checking = null;
        throw err;
      },
    );
    await checking;
  };
  return {
    async body(key, build) {
      await refresh();
      let hit = entries.get(key);
      if (!hit) {
        const body = await build();
        hit = { body, etag: `"${createHash('sha1').update(body).digest('hex')}"` };
        if (entries.size >= maxEntries) entries.clear();
        entries.set(key, hit);
      }
      return hit;
    },
    bytes(entry) {
      // A plain Uint8Array over its own ArrayBuffer, which a response takes as it is (no copy per request).
      entry.bytes ??= new Uint8Array(Buffer.from(entry.body));
      return entry.bytes;
    },
    gzip(entry) {
      entry.gzip ??= new Uint8Array(gzipSync(this.bytes(entry)));
      return entry.gzip;
    },
  };
}
