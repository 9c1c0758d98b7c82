// `gpuidx import`: each JSON Lines line becomes one raw snapshot, byte for byte, and a bad line is kept and marked.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importFile } from '../../src/collectors/import.js';
import { sha256Hex } from '../../src/collectors/ingest.js';
import { memoryLogger } from '../../src/log/index.js';
import { DIALECTS, FIXTURES, fixtureBytes, issuesOf, observationsOf, snapshotsOf, tempDb, type TempDb } from '../helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  let t: TempDb;
  beforeEach(async () => {
    t = await tempDb(dialect);
  });
  afterEach(async () => t.cleanup());

  const deps = () => ({ db: t.db, clock: () => Date.UTC(2026, 10, 22, 12, 0, 0), log: memoryLogger() });

  describe('generic file import', () => {
    it('stores each line as its own snapshot with its exact bytes, then its listings as observations', async () => {
      const summary = await importFile(deps(), join(FIXTURES, 'generic/sample.jsonl'));
      expect(summary).toEqual({ lines: 2, snapshots: 2, duplicates: 0, observations: 3, partial: 0, rejected: 0, oversized: 0 });

      const lines = fixtureBytes('generic/sample.jsonl')
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => Buffer.from(l));
      const snaps = await snapshotsOf(t.db);
      expect(snaps.map((s) => [s.venue, s.fetched_at, s.source, s.request_method, s.request_url, s.parser_version, s.sha256, s.parse_outcome])).toEqual([
        ['partner-a', Date.UTC(2026, 10, 20, 0, 5), 'file', 'IMPORT', 'file:sample.jsonl#L1', 'generic/1', sha256Hex(lines[0]!), 'ok'],
        ['partner-b', 1763597100000, 'file', 'IMPORT', 'file:sample.jsonl#L2', 'generic/1', sha256Hex(lines[1]!), 'ok'],
      ]);
      expect(Buffer.compare(snaps[0]!.body, lines[0]!)).toBe(0);
      expect(Buffer.compare(snaps[1]!.body, lines[1]!)).toBe(0);

      expect(await observationsOf(t.db)).toEqual([
        {
          snapshot_id: 1,
          seq: 0,
          listing_id: 'a-1',
          host_id: 'h-9',
          gpu_raw: 'H100 SXM',
          gpu_count: 8,
          price_usd_per_hour: 17.6,
          contract: 'on_demand',
          available: 1,
          perf_system: 'vast_dlperf',
          perf_score_per_gpu: 320.5,
          region: 'US/Texas',
          quantity_reported: 1,
        },
        {
          snapshot_id: 1,
          seq: 1,
          listing_id: 'a-2',
          host_id: null,
          gpu_raw: 'NVIDIA A100-SXM4-80GB',
          gpu_count: 1,
          price_usd_per_hour: 1.29,
          contract: 'interruptible',
          available: 1,
          perf_system: null,
          perf_score_per_gpu: null,
          region: null,
          quantity_reported: 1,
        },
        {
          snapshot_id: 2,
          seq: 0,
          listing_id: 'b-1',
          host_id: null,
          gpu_raw: 'RTX 4090',
          gpu_count: 2,
          price_usd_per_hour: 0.7,
          contract: 'on_demand',
          available: 0,
          perf_system: null,
          perf_score_per_gpu: null,
          region: null,
          quantity_reported: 1,
        },
      ]);
    });

    it('stores a re-imported file once', async () => {
      await importFile(deps(), join(FIXTURES, 'generic/sample.jsonl'));
      const again = await importFile(deps(), join(FIXTURES, 'generic/sample.jsonl'));
      expect(again).toEqual({ lines: 2, snapshots: 0, duplicates: 2, observations: 0, partial: 0, rejected: 0, oversized: 0 });
      expect((await snapshotsOf(t.db)).length).toBe(2);
    });

    it('stores a file of several groups of lines in file order: a line repeated within a group once, a bad line rejected', async () => {
      // 150 lines, more than two groups of 64: line n (1-based) lists n % 3 + 1 listings ("n-0", "n-1", ...) at
      // minute n; line 70 repeats line 69 byte for byte (both in the second group), line 130 is not JSON.
      const T = Date.UTC(2026, 10, 20);
      const lineOf = (n: number) =>
        JSON.stringify({
          venue: 'partner-g',
          fetched_at: T + n * 60_000,
          listings: Array.from({ length: (n % 3) + 1 }, (_, k) => ({
            listing_id: `${n}-${k}`,
            gpu: 'L40S',
            gpu_count: 1,
            price_usd_per_hour: 1 + n / 100,
            contract: 'on_demand',
            available: true,
          })),
        });
      const lines = Array.from({ length: 150 }, (_, i) => i + 1).map((n) => (n === 70 ? lineOf(69) : n === 130 ? '{not json' : lineOf(n)));
      const file = join(t.dir, 'groups.jsonl');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const summary = await importFile(deps(), file);
      // Stored lines: 1..150 without 70; their listings: sum over n of (n % 3 + 1) without lines 70 and 130.
      // Over 1..150 the n % 3 values cycle 1,2,0 fifty times: 50 * (2 + 3 + 1) = 300; minus line 70 (70 % 3 = 1: 2)
      // and line 130 (130 % 3 = 1: 2) = 296.
      expect(summary).toEqual({ lines: 150, snapshots: 149, duplicates: 1, observations: 296, partial: 0, rejected: 1, oversized: 0 });
      const snaps = await snapshotsOf(t.db);
      const storedLines = Array.from({ length: 150 }, (_, i) => i + 1).filter((n) => n !== 70);
      expect(snaps.map((s) => [s.id, s.request_url, s.parse_outcome])).toEqual(
        storedLines.map((n, i) => [i + 1, `file:groups.jsonl#L${n}`, n === 130 ? 'rejected' : 'ok']),
      );
      expect(snaps.map((s) => s.body.toString())).toEqual(storedLines.map((n) => lines[n - 1]));
      const expected = storedLines
        .filter((n) => n !== 130)
        .flatMap((n) => Array.from({ length: (n % 3) + 1 }, (_, k) => [storedLines.indexOf(n) + 1, k, `${n}-${k}`]));
      expect((await observationsOf(t.db)).map((o) => [o.snapshot_id, o.seq, o.listing_id])).toEqual(expected);
    });

    it('keeps malformed lines as rejected snapshots and bad listings as row issues', async () => {
      const file = join(t.dir, 'bad.jsonl');
      const lines = [
        'this is not json',
        '{"fetched_at":"2026-11-20T01:00:00Z","listings":[]}',
        '{"venue":"partner-c","fetched_at":"2026-11-20T02:00:00Z","listings":[{"listing_id":"c-1","gpu":"L40S","gpu_count":1,"price_usd_per_hour":0.9,"contract":"on_demand","available":true},{"listing_id":"c-2","gpu":"L40S","gpu_count":1,"price_usd_per_hour":"0.9","contract":"on_demand","available":true},{"listing_id":"c-3","gpu":"L40S","gpu_count":1,"price_usd_per_hour":0.9,"contract":"weekly","available":true}]}',
      ];
      writeFileSync(file, `${lines.join('\r\n')}\n\n`);
      const d = deps();
      const summary = await importFile(d, file);
      expect(summary).toEqual({ lines: 3, snapshots: 3, duplicates: 0, observations: 1, partial: 1, rejected: 2, oversized: 0 });
      const snaps = await snapshotsOf(t.db);
      expect(snaps.map((s) => [s.venue, s.fetched_at, s.parse_outcome, s.parse_error])).toEqual([
        [
          'file',
          Date.UTC(2026, 10, 22, 12),
          'rejected',
          'not_json: body is not valid JSON (Unexpected token \'h\', "this is not json " is not valid JSON): this is not json',
        ],
        ['file', Date.UTC(2026, 10, 22, 12), 'rejected', 'schema_mismatch: venue: Invalid input: expected string, received undefined'],
        [
          'partner-c',
          Date.UTC(2026, 10, 20, 2),
          'partial',
          '2 of 3 rows rejected (row_schema x2); first: row 1 (c-2): price_usd_per_hour: Invalid input: expected number, received string',
        ],
      ]);
      // Windows line endings are part of the bytes received, and kept.
      expect(snaps[0]!.body.toString()).toBe('this is not json\r');
      expect((await issuesOf(t.db)).map((i) => [i.listing_id, i.code, i.detail])).toEqual([
        ['c-2', 'row_schema', 'price_usd_per_hour: Invalid input: expected number, received string'],
        ['c-3', 'row_schema', 'contract: Invalid option: expected one of "on_demand"|"interruptible"|"reserved"'],
      ]);
      expect(d.log.lines).toHaveLength(3);
    });
  });
});
