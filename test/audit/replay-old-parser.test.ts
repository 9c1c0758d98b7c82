// A snapshot keeps the parser that read it: fixings made from Vast.ai bodies parsed by vast/3 (no memory per GPU)
// replay bit for bit with vast/3, although the adapter now parses with vast/4, which would class them otherwise.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { ingestBody } from '../../src/collectors/ingest.js';
import { parserFor } from '../../src/collectors/parsers.js';
import { createRedactor } from '../../src/collectors/redact.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { allObservations, auditRowsOf } from '../../src/storage/index.js';
import { fixtureBytes, tempDb, testSigner, type TempDb } from '../helpers.js';

const DATE = '2026-12-01';
const D0 = Date.UTC(2026, 11, 1);
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

async function collectAs(version: string, hour: number): Promise<void> {
  const at = D0 + hour * 3_600_000;
  await ingestBody(t.db, {
    venue: 'vast',
    fetchedAt: at,
    source: 'http',
    requestMethod: 'POST',
    requestUrl: 'https://console.vast.ai/api/v0/bundles/',
    requestBody: null,
    received: { status: 200, contentType: 'application/json', body: fixtureBytes('venues/vast/offers-real-shapes.json'), truncated: false },
    parserVersion: version,
    parserOptions: { default_quantity: 1, strip_bom: true },
    parse: parserFor(version)!,
    runId: null,
    redactor: createRedactor([]),
    receivedAt: at,
  });
}

describe('a fixing made from snapshots of an older parser version', () => {
  it('replays with the version that read them, not the current one', async () => {
    await collectAs('vast/3', 1);
    await collectAs('vast/3', 2);
    const outcomes = await fixDate(
      { db: t.db, clock: () => D0 + 86_400_000 + 3_600_000, log: memoryLogger(), signer: testSigner() },
      { date: DATE, series: ['GPUIDX-A100-SXM-80', 'GPUIDX-COMPUTE'] },
    );
    expect(outcomes.map((o) => o.action)).toEqual(['published', 'published']);
    // vast/3 stored no memory, so under methodology 2.0.0 the three A100 SXM4 offers (twice each) are ambiguous.
    const offers = (await allObservations(t.db)).filter((o) => o.gpu_raw === 'A100 SXM4' && o.contract === 'on_demand');
    const stored = [];
    for (const f of await t.db.selectFrom('fixings').select('id').orderBy('id').execute()) stored.push(...(await auditRowsOf(t.db, f.id)));
    const reasons = stored.filter((r) => offers.some((o) => o.id === r.observation_id));
    expect(new Set(reasons.map((r) => r.reason))).toEqual(new Set(['memory_ambiguous']));
    // 3 offers x 2 snapshots, in GPUIDX-COMPUTE's audit (an input with no class is in no class series' audit).
    expect(reasons).toHaveLength(3 * 2);
    const verdicts = await replayDate(dbSource(t.db), DATE);
    expect(verdicts.map((v) => [v.series, v.match])).toEqual([
      ['GPUIDX-A100-SXM-80', true],
      ['GPUIDX-COMPUTE', true],
    ]);
  });
});
