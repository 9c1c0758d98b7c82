// The scheduler never runs one venue twice at once, and stopping waits for the run in flight to finish writing.
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { akash } from '../src/collectors/venues/akash.js';
import { scheduleCollectors } from '../src/scheduler/index.js';
import { fixtureBytes, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from './helpers.js';
import { JSON_HEADERS, useMsw } from './msw.js';

const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

describe('scheduler', () => {
  it('skips a tick while the same venue is still running, and stop() waits for the run to be written', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let requests = 0;
    server.use(
      http.get('https://console-api.akash.network/v1/gpu-prices', async () => {
        requests += 1;
        await gate;
        return new HttpResponse(fixtureBytes('venues/akash/gpu-prices.json'), { headers: JSON_HEADERS });
      }),
    );
    const deps = testDeps(t.db);
    // A schedule that never fires by itself in this test (29 February, 03:07).
    const schedule = scheduleCollectors(deps, [{ adapter: akash, config: venueConfig('akash', { schedule: '7 3 29 2 *' }) }], testPolicy);
    const first = schedule.trigger('akash');
    const second = await schedule.trigger('akash');
    expect(second).toBeNull();
    expect(deps.lines).toContain('1970-01-01T00:00:00.000Z WARN  akash: previous run still in progress; this tick is skipped');

    const stopped = schedule.stop();
    release();
    await stopped;
    expect(await first).toMatchObject({ outcome: 'ok', observations: 3 });
    expect(requests).toBe(1);
    expect((await snapshotsOf(t.db)).map((s) => s.parse_outcome)).toEqual(['ok']);
    expect(await schedule.trigger('akash')).toBeNull();
  });
});
