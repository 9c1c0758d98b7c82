// The published revisions the API serves, cached: a revision never changes, so its published document, its JSON and
// its signed body with a strong ETag are built once; the latest revision per series is looked up at most once per
// TTL; history bodies are built once per publication. Shared by the series routes and the cross-series queries.
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { publishedFixing, signedPayload, type PublishedFixing } from '../fixer/published.js';
import type { FixingEvidence } from '../methodology/fixing.js';
import { fixingsByIds, latestFixingOf, newestFixingId, type Db, type Fixing } from '../storage/index.js';
import { publicationCache } from './cache.js';
import { jsonBody, SIGNED } from './http.js';
import type { signedFixingSchema, z } from './schemas.js';

/** The signed fixing response, as /openapi.json declares it. */
type SignedFixingBody = z.infer<typeof signedFixingSchema>;

// A published revision never changes, so its published form is built once (bounded cache), and so is its signed
// form with a strong ETag. The signature is the one stored when the revision was published: the API never signs.
export interface Published {
  fixing: PublishedFixing;
  json: string;
  /** The signed response body, its bytes (encoded once: a response writes them as they are) and its strong ETag. */
  signed?: { body: string; bytes: Uint8Array<ArrayBuffer>; etag: string };
}

export type PublishedRevisions = ReturnType<typeof publishedRevisions>;

export function publishedRevisions(db: Db, latestTtlMs: number) {
  const publishedCache = new Map<number, Published>();
  const published = (row: Fixing): Published => {
    let hit = publishedCache.get(row.id);
    if (!hit) {
      if (publishedCache.size >= 100_000) publishedCache.clear();
      const fixing = publishedFixing(row);
      hit = { fixing, json: JSON.stringify(fixing) };
      publishedCache.set(row.id, hit);
    }
    return hit;
  };
  const signed = (row: Fixing) => {
    const p = published(row);
    if (!p.signed) {
      const signature =
        row.signature !== null && row.key_id !== null
          ? { algorithm: 'Ed25519' as const, key_id: row.key_id, value: row.signature, payload: signedPayload(p.fixing) }
          : null;
      const shares = (JSON.parse(row.evidence) as Partial<FixingEvidence>).venue_shares ?? [];
      const venueShares = shares.map((v) => ({ venue: v.venue, share: v.share, capped_share: v.capped_share }));
      const body = `{"fixing":${p.json},"signature":${JSON.stringify(signature)},"venue_shares":${JSON.stringify(venueShares)}}`;
      const bytes = new Uint8Array(Buffer.from(body));
      p.signed = { body, bytes, etag: `"${createHash('sha256').update(bytes).digest('hex').slice(0, 40)}"` };
    }
    return p.signed;
  };
  // The latest fixing of a series is looked up at most once per `latestTtlMs` (default 1 s): exchanges poll it
  // hard around publication, and a new revision is then visible within that time (its Cache-Control says 60 s).
  const latestCache = new Map<string, { row: Fixing | undefined; until: number }>();
  const latestOf = async (code: string): Promise<Fixing | undefined> => {
    const now = performance.now();
    const hit = latestCache.get(code);
    if (hit && hit.until > now) return hit.row;
    const row = await latestFixingOf(db, code);
    latestCache.set(code, { row, until: now + latestTtlMs });
    return row;
  };
  // History and CSV bodies, once per publication (see cache.ts); the newest fixing id is checked once per TTL.
  const histories = publicationCache({ generation: () => newestFixingId(db), ttlMs: latestTtlMs });
  const publishedByIds = async (ids: readonly number[]): Promise<Published[]> => {
    const found = ids.map((id) => publishedCache.get(id));
    const missing = ids.filter((_, i) => !found[i]);
    if (missing.length) {
      const rows = new Map((await fixingsByIds(db, missing)).map((r) => [r.id, r]));
      for (const [i, id] of ids.entries()) found[i] ??= published(rows.get(id)!);
    }
    return found as Published[];
  };
  const sendSigned = (c: Context, row: Fixing, cacheControl: string) => {
    const { bytes, etag: tag } = signed(row);
    return jsonBody<SignedFixingBody>(c, bytes, 200, { etag: tag, 'cache-control': cacheControl + SIGNED });
  };
  return { published, signed, latestOf, histories, publishedByIds, sendSigned };
}
