// Start-up recovery of raw snapshots: any snapshot still `pending` (stored by an older version that parsed in a
// second step, when the process died in between) is parsed now from its stored bytes, so that no stuck row can hold
// the input watermark back; snapshots stored before content identities existed get theirs.
import { setContentKey, pendingSnapshots, readSnapshotBody, recordParse, snapshotsWithoutContentKey, type Db } from '../storage/index.js';
import { contentKey, rejectedParse, toParseRecord } from './ingest.js';
import { parserFor } from './parsers.js';
import type { ParserOptions } from './adapter.js';

export interface RecoveryReport {
  /** Pending snapshots whose parse was recorded now. */
  reparsed: number;
  /** Snapshots that received their content identity now. */
  identified: number;
  /** Snapshots whose content repeats an earlier snapshot of the same venue and instant (stored twice before). */
  duplicates: number[];
}

export async function recoverSnapshots(db: Db): Promise<RecoveryReport> {
  const report: RecoveryReport = { reparsed: 0, identified: 0, duplicates: [] };
  for (const s of await pendingSnapshots(db)) {
    const parse = parserFor(s.parser_version);
    const options = JSON.parse(s.parser_options) as ParserOptions;
    // A stored body that cannot be read (damaged or removed) is recorded as such, not fatal: a forged row must not
    // stop every writer at start-up, and verify names it all the same.
    const body = await readSnapshotBody(db, s.id);
    const { record } = !Buffer.isBuffer(body)
      ? { record: rejectedParse(`body_unreadable: ${body.unreadable}`) }
      : parse
        ? toParseRecord({ status: s.http_status, contentType: s.content_type, body, truncated: s.truncated === 1 }, parse, options)
        : { record: rejectedParse(`unknown_parser: ${s.parser_version} is not registered in this software`) };
    await recordParse(db, s.id, record);
    report.reparsed += 1;
  }
  // Paged by id: a snapshot whose body cannot be read keeps no content identity (there are no bytes to take it
  // from; verify names it), and must not be picked up again.
  for (let after = 0; ; ) {
    const batch = await snapshotsWithoutContentKey(db, after, 100);
    if (batch.length === 0) break;
    after = batch[batch.length - 1]!;
    for (const id of batch) {
      const body = await readSnapshotBody(db, id);
      if (!Buffer.isBuffer(body)) continue;
      const key = contentKey(body);
      try {
        await setContentKey(db, id, key);
      } catch (err) {
        if (!/UNIQUE/i.test((err as Error).message)) throw err;
        // The same content was stored twice under an older version: keep both, mark the later one as the repeat.
        await setContentKey(db, id, `${key}/repeat-${id}`);
        report.duplicates.push(id);
      }
      report.identified += 1;
    }
  }
  return report;
}
