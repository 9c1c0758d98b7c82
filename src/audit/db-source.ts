// Replay from the database: raw snapshot bytes and published fixings, never the derived observation rows.
import { publishedFixing } from '../fixer/published.js';
import { loadMethodology } from '../methodology/params.js';
import {
  keyedAuditRows,
  previousValues,
  rawSnapshotsInWindow,
  revisionsOfDate,
  readSnapshotBody,
  trailingHistory,
  type Db,
  type Fixing,
  type Snapshot,
} from '../storage/index.js';
import { historyPoints } from '../fixer/index.js';
import type { RawSnapshot, ReplaySource } from './replay.js';

export function toRawSnapshot(s: Snapshot, body: Buffer): RawSnapshot {
  return {
    id: s.id,
    venue: s.venue,
    fetched_at: s.fetched_at,
    sha256: s.sha256,
    http_status: s.http_status,
    content_type: s.content_type,
    truncated: s.truncated === 1,
    parser_version: s.parser_version,
    parser_options: JSON.parse(s.parser_options) as RawSnapshot['parser_options'],
    body,
    source: s.source,
  };
}

export function dbSource(db: Db): ReplaySource {
  return {
    async *snapshots(from, to, through) {
      // Metadata first, then one body at a time: a window of Vast-sized searches does not fit in memory at once.
      for (const s of await rawSnapshotsInWindow(db, from, to, through)) {
        const body = await readSnapshotBody(db, s.id);
        yield Buffer.isBuffer(body) ? toRawSnapshot(s, body) : { ...toRawSnapshot(s, Buffer.alloc(0)), unreadable: body.unreadable };
      }
    },
    async revisions(date, series) {
      const rows = await revisionsOfDate(db, date, series);
      return rows.map((row) => ({ fixing: publishedFixing(row), audit: () => keyedAuditRows(db, row.id), ref: row }));
    },
    async previous(date, run) {
      // What had been published before the run's first revision.
      const values = await previousValues(db, date, (run[0]!.ref as Fixing).id);
      return new Map([...values].map(([k, v]) => [k, { date: v.carriedFrom ?? v.date, value: v.value }]));
    },
    async history(date, run, days) {
      return historyPoints(await trailingHistory(db, date, days, (run[0]!.ref as Fixing).id));
    },
    methodology: (version) => loadMethodology(version),
  };
}
