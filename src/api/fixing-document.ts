// The published form of a stored fixing revision, and the canonical bytes its signature covers.
import { canonicalJson } from '../methodology/canonical.js';
import type { Fixing } from '../storage/index.js';
import type { z } from '@hono/zod-openapi';
import type { fixingSchema } from './schemas.js';

export type PublishedFixing = z.infer<typeof fixingSchema>;

export function publishedFixing(row: Fixing): PublishedFixing {
  return {
    ...(JSON.parse(row.record) as Omit<PublishedFixing, 'revision' | 'software_version' | 'computed_at' | 'restatement_reason' | 'previous_input_digest'>),
    revision: row.revision,
    software_version: row.software_version,
    computed_at: new Date(row.computed_at).toISOString(),
    restatement_reason: row.restatement_reason,
    previous_input_digest: row.previous_input_digest,
  };
}

/** What a fixing's signature covers: its published fields as canonical JSON (keys sorted, no whitespace). */
export function signedPayload(fixing: PublishedFixing): string {
  return canonicalJson(fixing);
}
