// Migration: observations move from `observations` (a SQL row per listing per snapshot, with its index the largest
// part of a database after the compressed bodies) into `observation_blocks` (one compressed columnar block per
// snapshot, storage/observation-blocks.ts). Every observation keeps its id and values: a snapshot's observations were
// always numbered consecutively when stored, which this migration checks, and a block numbers them from its first id.
// Frozen: never edit, add a new one.
import { brotliCompressSync, constants } from 'node:zlib';
import { sql, type Kysely } from 'kysely';
import { createRefusalTrigger, dialectOf } from '../dialect.js';
import { gpuNamesOf, OBSERVATION_BROTLI_QUALITY, observationBlockBytes } from '../observation-blocks.js';
import type { Observation } from '../schema.js';

const SNAPSHOTS_PER_BATCH = 200;

/**
 * Safe to interrupt anywhere on SQLite (its migrations run outside a transaction): blocks are written a batch of
 * snapshots per transaction, a snapshot that has its block is skipped, and the old table is dropped in one
 * transaction only once every snapshot's observations are moved. A rerun after a crash picks up where it stopped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = dialectOf(db) === 'postgres';
  if (postgres) {
    await db.schema
      .createTable('observation_blocks')
      .addColumn('snapshot_id', 'bigint', (c) => c.primaryKey().references('snapshots.id'))
      .addColumn('first_observation_id', 'bigint', (c) => c.notNull())
      .addColumn('row_count', 'bigint', (c) => c.notNull())
      .addColumn('gpu_names', sql`text COLLATE "C"`, (c) => c.notNull())
      .addColumn('encoding', sql`text COLLATE "C"`, (c) => c.notNull())
      .addColumn('data', 'bytea', (c) => c.notNull())
      .execute();
    await createRefusalTrigger(db, {
      name: 'observation_blocks_no_update',
      table: 'observation_blocks',
      on: 'UPDATE',
      message: 'observations are append-only: UPDATE refused',
    });
    await createRefusalTrigger(db, {
      name: 'observation_blocks_no_delete',
      table: 'observation_blocks',
      on: 'DELETE',
      message: 'observations are append-only: DELETE refused',
    });
  } else {
    await sql`CREATE TABLE IF NOT EXISTS observation_blocks (
      snapshot_id integer PRIMARY KEY REFERENCES snapshots (id),
      first_observation_id integer NOT NULL,
      row_count integer NOT NULL,
      gpu_names text NOT NULL,
      encoding text NOT NULL,
      data blob NOT NULL
    )`.execute(db);
    await sql`CREATE TRIGGER IF NOT EXISTS observation_blocks_no_update BEFORE UPDATE ON observation_blocks
      BEGIN SELECT RAISE(ABORT, 'observations are append-only: UPDATE refused'); END`.execute(db);
    await sql`CREATE TRIGGER IF NOT EXISTS observation_blocks_no_delete BEFORE DELETE ON observation_blocks
      BEGIN SELECT RAISE(ABORT, 'observations are append-only: DELETE refused'); END`.execute(db);
  }
  // Observation ids are looked up by block (the next id to give, and an observation named by an audit row).
  await sql`CREATE UNIQUE INDEX IF NOT EXISTS observation_blocks_first_id ON observation_blocks (first_observation_id)`.execute(db);
  if (!postgres) {
    const old = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'observations'`.execute(db);
    if (Number(old.rows[0]!.n) === 0) return; // moved and dropped by an earlier, interrupted run
  }

  let after = 0;
  for (;;) {
    const batch = await sql<{ snapshot_id: number }>`SELECT DISTINCT o.snapshot_id FROM observations o
      WHERE o.snapshot_id > ${after} AND NOT EXISTS (SELECT 1 FROM observation_blocks b WHERE b.snapshot_id = o.snapshot_id)
      ORDER BY o.snapshot_id LIMIT ${SNAPSHOTS_PER_BATCH}`.execute(db);
    if (batch.rows.length === 0) break;
    const ids = batch.rows.map((r) => Number(r.snapshot_id));
    after = ids[ids.length - 1]!;
    const rows = await sql<Observation>`SELECT * FROM observations WHERE snapshot_id IN (${sql.join(ids)}) ORDER BY snapshot_id, seq, id`.execute(db);
    const bySnapshot = new Map<number, Observation[]>();
    for (const r of rows.rows) {
      const o = { ...r, id: Number(r.id), snapshot_id: Number(r.snapshot_id), seq: Number(r.seq) };
      let list = bySnapshot.get(o.snapshot_id);
      if (!list) bySnapshot.set(o.snapshot_id, (list = []));
      list.push(o);
    }
    const blocks = [...bySnapshot].map(([snapshotId, list]) => {
      const first = Math.min(...list.map((o) => o.id));
      const offsets = list.map((o) => o.id - first);
      // Every writer numbered a snapshot's observations consecutively; the next id is given from the blocks so.
      if (new Set(offsets).size !== list.length || Math.max(...offsets) !== list.length - 1)
        throw new Error(`snapshot ${snapshotId}: its observation ids are not consecutive, so they cannot be kept in one block`);
      const data = brotliCompressSync(observationBlockBytes(list, offsets), { params: { [constants.BROTLI_PARAM_QUALITY]: OBSERVATION_BROTLI_QUALITY } });
      return { snapshotId, first, count: list.length, names: gpuNamesOf(list), data };
    });
    if (!postgres) await sql`BEGIN IMMEDIATE`.execute(db);
    try {
      for (const b of blocks) {
        await sql`INSERT INTO observation_blocks (snapshot_id, first_observation_id, row_count, gpu_names, encoding, data)
          VALUES (${b.snapshotId}, ${b.first}, ${b.count}, ${b.names}, 'br', ${b.data})`.execute(db);
      }
      if (!postgres) await sql`COMMIT`.execute(db);
    } catch (err) {
      if (!postgres) await sql`ROLLBACK`.execute(db);
      throw err;
    }
  }

  // The old table, its index and its triggers go together, in one transaction.
  if (postgres) {
    await sql`DROP TABLE observations`.execute(db);
    return;
  }
  await sql`BEGIN IMMEDIATE`.execute(db);
  try {
    await sql`DROP TRIGGER observations_no_update`.execute(db);
    await sql`DROP TRIGGER observations_no_delete`.execute(db);
    await sql`DROP TABLE observations`.execute(db);
    await sql`COMMIT`.execute(db);
  } catch (err) {
    await sql`ROLLBACK`.execute(db);
    throw err;
  }
}

export async function down(): Promise<void> {
  throw new Error('observation blocks are never moved back: the audit trail is kept');
}
