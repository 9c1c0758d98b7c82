// The dashboard in a real browser (Debian's Chromium through playwright-core) over the real API on a real port:
// the overview lists every series, a series chart holds exactly the API's values, the fixing page's input table
// filters by venue, no page logs an error; screenshots go to test-artifacts/ (laptop and phone widths). Callbacks
// passed to the page run in the browser and reach its globals through globalThis (this file has no DOM types).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningServer } from '../../src/api/server.js';
import { memoryLogger } from '../../src/log/index.js';
import { publishMarketFixture, tempDb, testSigner, type TempDb } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const NOW = Date.UTC(2026, 10, 21, 0, 40);

let t: TempDb;
let api: RunningServer;
let browser: Browser;
const errors: string[] = [];

async function open(hash: string, width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${hash}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${hash}: ${String(e)}`));
  await page.goto(`${api.url}/${hash}`);
  await page.waitForFunction(() => (globalThis as any).gpuidx?.ready === true);
  return page;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium; .ci/run does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await tempDb();
  const _deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
  await publishMarketFixture(t.db, NOW);
  api = await startApi(
    t.db,
    { host: '127.0.0.1', port: 0, max_range_days: 400, health: { max_fixing_age_hours: 50, max_collection_age_minutes: 60 } },
    memoryLogger(),
    () => NOW + 3_600_000,
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await t?.cleanup();
});

describe('the dashboard', () => {
  it('lists every series on the overview with its latest value and status', async () => {
    const { series } = (await (await fetch(`${api.url}/v1/series`)).json()) as {
      series: { code: string; latest_value: number | null; latest_status: string }[];
    };
    const page = await open('');
    const rows = await page.$$eval('[data-testid=overview] tbody tr', (trs) =>
      trs.map((tr) => ({ code: (tr as any).dataset.series, value: tr.children[2]!.textContent, status: tr.children[4]!.textContent })),
    );
    expect(rows).toEqual(series.map((s) => ({ code: s.code, value: s.latest_value === null ? '-' : String(s.latest_value), status: s.latest_status ?? '-' })));
    await page.screenshot({ path: join(ARTIFACTS, 'overview.png') });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(ARTIFACTS, 'overview-phone.png') });
    await page.close();
  });

  it("draws a series' history with exactly the API's values, bands and VWAP", async () => {
    const history = (await (await fetch(`${api.url}/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-01&to=2026-11-20`)).json()) as {
      fixings: { date: string; value: number; vwap: number; percentiles: { p10: number; p90: number } }[];
    };
    const page = await open('#/series/GPUIDX-H100-SXM');
    const chart = await page.evaluate(() => (globalThis as any).gpuidx.charts['series:GPUIDX-H100-SXM']);
    expect(chart).toMatchObject({
      dates: history.fixings.map((f) => f.date),
      value: history.fixings.map((f) => f.value),
      vwap: history.fixings.map((f) => f.vwap),
      p10: history.fixings.map((f) => f.percentiles.p10),
      p90: history.fixings.map((f) => f.percentiles.p90),
    });
    // The fixture's three dates, 2.2, 2.222 (restated) and 2.244, as test/api/queries.test.ts reads them.
    expect((chart as { value: number[] }).value).toEqual([2.2, 2.222, 2.244]);
    expect(await page.locator('[data-testid=series-chart] canvas').count()).toBe(1);
    // The stacked venue contributions hold the API's capped shares, date by date.
    const shares = (await (await fetch(`${api.url}/v1/series/GPUIDX-H100-SXM/venue-shares?from=2026-11-01&to=2026-11-20`)).json()) as {
      dates: { date: string; shares: { venue: string; capped_share: number }[] }[];
    };
    const drawn = (await page.evaluate(() => (globalThis as any).gpuidx.charts['shares:GPUIDX-H100-SXM'])) as {
      dates: string[];
      venues: Record<string, number[]>;
    };
    expect(drawn.dates).toEqual(shares.dates.map((d) => d.date));
    for (const [venue, values] of Object.entries(drawn.venues))
      expect(values, venue).toEqual(shares.dates.map((d) => d.shares.find((s) => s.venue === venue)?.capped_share ?? 0));
    expect(Object.keys(drawn.venues).sort()).toEqual([...new Set(shares.dates.flatMap((d) => d.shares.map((s) => s.venue)))].sort());
    await page.screenshot({ path: join(ARTIFACTS, 'series.png'), fullPage: true });
    await page.close();
  });

  it("filters the fixing page's input table by venue, as the audit API does", async () => {
    const audit = (await (await fetch(`${api.url}/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18/audit?limit=1000`)).json()) as {
      inputs: { venue: string; listing_id: string }[];
    };
    const venue = audit.inputs[0]!.venue;
    // The first page shows 100 inputs; of these venues' inputs, the first 100 in observation order.
    const expected = audit.inputs
      .filter((r) => r.venue === venue)
      .slice(0, 100)
      .map((r) => r.listing_id);
    const page = await open('#/fixing/GPUIDX-H100-SXM/2026-11-18');
    await page.selectOption('[data-testid=venue-filter]', venue);
    await page.waitForFunction(
      (v) => [...(globalThis as any).document.querySelectorAll('[data-testid=inputs-table] tbody tr')].every((tr: any) => tr.dataset.venue === v),
      venue,
    );
    const listings = await page.$$eval('[data-testid=inputs-table] tbody tr', (trs) => trs.map((tr) => tr.children[1]!.textContent));
    expect(listings).toEqual(expected);
    await page.screenshot({ path: join(ARTIFACTS, 'fixing.png'), fullPage: true });
    await page.close();
  });

  it('renders the methodology and the publication calendar, and no page logs an error', async () => {
    const methodology = await open('#/methodology');
    expect(await methodology.locator('[data-testid=methodology-text] h1').first().textContent()).toBe('GPUIDX methodology');
    await methodology.close();
    const calendar = await open('#/calendar');
    const rows = await calendar.$$eval('[data-testid=calendar] tbody tr', (trs) => trs.map((tr) => [...tr.children].slice(0, 4).map((td) => td.textContent)));
    // Three dates, each with all 41 series; 2026-11-19 restated three of them.
    expect(rows).toEqual([
      ['2026-11-20', '41', '41', '0'],
      ['2026-11-19', '41', '41', '3'],
      ['2026-11-18', '41', '41', '0'],
    ]);
    await calendar.close();
    expect(errors).toEqual([]);
  });
});
