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
}

/** The entry's body as bytes, encoded once: a plain Uint8Array over its own buffer, which a response takes as it is. */
export function cachedBytes(entry: CachedBody): Uint8Array<ArrayBuffer> {
  entry.bytes ??= new Uint8Array(Buffer.from(entry.body));
  return entry.bytes;
}

/** The entry's body gzip-compressed, once. */
export function cachedGzip(entry: CachedBody): Uint8Array<ArrayBuffer> {
  entry.gzip ??= new Uint8Array(gzipSync(cachedBytes(entry)));
  return entry.gzip;
}

/**
 * The ETag of the gzip-compressed representation: a strong ETag names one sequence of bytes, so the compressed body
 * has its own (the identity ETag with `-gzip` inside the quotes).
 */
export function gzipEtag(etag: string): string {
  return `${etag.slice(0, -1)}-gzip"`;
}

/** A strong ETag (quoted sha1) of a response body. */
export function strongEtag(body: string | Uint8Array): string {
  return `"${createHash('sha1').update(body).digest('hex')}"`;
}

/**
 * `compute`, run at most once per `ttlMs`: callers within that time (and while it runs) share its promise. A
 * rejected promise is not kept, so the next caller tries again.
 */
export function reusedFor<T>(ttlMs: number, compute: () => Promise<T>): () => Promise<T> {
  let kept: { until: number; value: Promise<T> } | null = null;
  return () => {
    const now = performance.now();
    if (!kept || kept.until <= now) {
      const value = compute();
      const entry = { until: now + ttlMs, value };
      kept = entry;
      value.catch(() => {
        if (kept === entry) kept = null;
      });
    }
    return kept.value;
  };
}

export function publicationCache(opts: { generation: () => Promise<number>; ttlMs: number; maxEntries?: number }): PublicationCache {
  const maxEntries = opts.maxEntries ?? 1000;
  const entries = new Map<string, CachedBody>();
  let generation = Number.NaN;
  // One generation query per TTL, however many requests arrive meanwhile.
  const currentGeneration = reusedFor(opts.ttlMs, opts.generation);
  return {
    async body(key, build) {
      const g = await currentGeneration();
      if (g !== generation) {
        entries.clear();
        generation = g;
      }
      let hit = entries.get(key);
      if (!hit) {
        const body = await build();
        hit = { body, etag: strongEtag(body) };
        if (entries.size >= maxEntries) entries.clear();
        entries.set(key, hit);
      }
      return hit;
    },
  };
}
