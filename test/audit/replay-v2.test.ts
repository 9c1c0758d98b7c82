// A methodology-v2 fixing replays bit for bit, from the database and from an exported bundle, like a v1 one.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBundle, openBundle } from '../../src/audit/bundle.js';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { ingestBody } from '../../src/collectors/ingest.js';
import { createRedactor } from '../../src/collectors/redact.js';
import { GENERIC_PARSER_VERSION, parseGenericLine } from '../../src/collectors/venues/generic.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { unit } from '../../src/simulator/market.js';
import { fingerprintOf } from '../../src/signing/registry.js';
import { DIALECTS, tempDb, testSigner, type TempDb } from '../helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  const DAY = Date.UTC(2026, 10, 20);
  let t: TempDb;

  beforeAll(async () => {
    t = await tempDb(dialect);
    // Three admitted marketplace venues, collected (http) every 30 minutes, prices jittered deterministically; one
    // list-price venue; one venue that is not admitted.
    const redactor = createRedactor([]);
    // Two days; on the second, tensordock is gone: its usual share makes the second day's fixing degraded.
    for (let i = 0; i < 96; i++) {
      const at = DAY + i * 1_800_000;
      for (const venue of ['vast', 'tensordock', 'akash', 'lambda', 'elsewhere'].filter((v) => i < 48 || v !== 'tensordock')) {
        const listings = Array.from({ length: 4 }, (_, k) => ({
          listing_id: `${venue}-${k}`,
          host_id: `${venue}-host-${k % 3}`,
          gpu: 'H100 SXM',
          gpu_count: 1 + (k % 2),
          price_usd_per_hour: Math.round((2 + unit(7, venue, k, i) * 0.4) * (1 + (k % 2)) * 1e4) / 1e4,
          contract: 'on_demand',
          available: true,
          quantity_reported: venue !== 'lambda',
        }));
        const body = Buffer.from(JSON.stringify({ venue, fetched_at: at, listings }));
        await ingestBody(t.db, {
          venue,
          fetchedAt: at,
          source: 'http',
          requestMethod: 'GET',
          requestUrl: `http://127.0.0.1/${venue}`,
          requestBody: null,
          received: { status: 200, contentType: 'application/json', body, truncated: false },
          parserVersion: GENERIC_PARSER_VERSION,
          parserOptions: { default_quantity: 1, strip_bom: true },
          parse: parseGenericLine,
          runId: null,
          redactor,
          receivedAt: at,
        });
      }
    }
    // 2026-11-20 is before version 2's effective date: fixing it with v2 is the explicit choice the controls ask for.
    for (const [d, date] of ['2026-11-20', '2026-11-21'].entries()) {
      await fixDate(
        { db: t.db, clock: () => DAY + (d + 1) * 86_400_000 + 1_800_000, log: memoryLogger(), signer: testSigner() },
        { date, methodologyVersion: '2.0.0', series: ['GPUIDX-H100-SXM', 'GPUIDX-COMPUTE'] },
      );
    }
  });
  afterAll(async () => t.cleanup());

  describe('replay of a v2 fixing', () => {
    it('matches from the raw bytes in the database, and from a bundle on the pinned key', async () => {
      const fixing = await t.db
        .selectFrom('fixings')
        .select(['series', 'status', 'value', 'methodology_version', 'record'])
        .where('series', '=', 'GPUIDX-H100-SXM')
        .where('date', '=', '2026-11-20')
        .executeTakeFirstOrThrow();
      expect(fixing).toMatchObject({ status: 'normal', methodology_version: '2.0.0' });
      const record = JSON.parse(fixing.record) as { excluded: Record<string, number>; coverage: unknown };
      // lambda reports no quantities (tier 2); "elsewhere" is not admitted: 48 snapshots x 4 listings each.
      expect(record.excluded).toEqual({ list_price_unweighted: 192, venue_not_admitted: 192 });
      expect(record.coverage).toEqual({
        venues_present: 3,
        venues_admitted: 6,
        partitions_sufficient: 24,
        partitions: 24,
        volume_vs_trailing_mean: null,
        trailing_days: 0,
      });
      // The second day: compared with the first, without tensordock (a third of the first day's volume or more).
      const second = JSON.parse(
        (await t.db.selectFrom('fixings').select('record').where('series', '=', 'GPUIDX-H100-SXM').where('date', '=', '2026-11-21').executeTakeFirstOrThrow())
          .record,
      ) as { degraded: boolean; missing_venues: string[]; coverage: { trailing_days: number } };
      expect([second.degraded, second.missing_venues, second.coverage.trailing_days]).toEqual([true, ['tensordock'], 1]);

      const verdicts = await replayDate(dbSource(t.db), '2026-11-20');
      expect(verdicts.map((v) => [v.series, v.match, v.differences]).sort()).toEqual([
        ['GPUIDX-COMPUTE', true, []],
        ['GPUIDX-H100-SXM', true, []],
      ]);
      expect((await replayDate(dbSource(t.db), '2026-11-21')).map((v) => [v.series, v.match, v.differences]).sort()).toEqual([
        ['GPUIDX-COMPUTE', true, []],
        ['GPUIDX-H100-SXM', true, []],
      ]);
      // The second day's bundle carries the first day's signed fixings and evidence as its history.
      const out = join(mkdtempSync(join(tmpdir(), 'gpuidx-v2-')), 'bundle');
      await exportBundle(t.db, testSigner(), { date: '2026-11-21', out, softwareVersion: '0.1.0', clock: () => DAY });
      const opened = await openBundle(out, { fingerprints: [fingerprintOf(testSigner().publicKeyPem)] });
      expect(opened.problems).toEqual([]);
      expect((await replayDate(opened.source, '2026-11-21')).map((v) => [v.series, v.match, v.differences]).sort()).toEqual([
        ['GPUIDX-COMPUTE', true, []],
        ['GPUIDX-H100-SXM', true, []],
      ]);
      // A history whose evidence was edited (shares that would hide the missing venue) is named.
      const file = join(out, 'fixings', 'GPUIDX-H100-SXM', 'r1.json');
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { history: { evidence: string }[] };
      doc.history[0]!.evidence = doc.history[0]!.evidence.replace('"tensordock"', '"tensordocks"');
      writeFileSync(file, JSON.stringify(doc, null, 2));
      const edited = await openBundle(out, { fingerprints: [fingerprintOf(testSigner().publicKeyPem)] });
      expect(edited.problems).toContain('fixings/GPUIDX-H100-SXM/r1.json (history 2026-11-20): its evidence does not hash to the signed evidence_sha256');
    });
  });
});
