// The yield watch reads a venue's latest runs before each new one (recentYields); with only (venue, started_at)
// indexed, each read sorted all of the venue's runs by id, so collection slowed as the history grew (a 30-day demo
// spent a tenth of its time there). An index on (venue, id) serves it in order. Frozen: never edit, add a new one.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('collector_runs_venue_id').ifNotExists().on('collector_runs').columns(['venue', 'id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('indexes of the operating record are kept');
}
