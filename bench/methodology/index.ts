// bench/methodology: the 30-day demo fixed under methodology v1 and under v2, side by side: status distribution,
// and the day-to-day volatility of GPUIDX-H100-SXM against the simulator's own price path (stdev of daily log
// changes; and the mean absolute gap to the simulated class level at noon). Usage (after running the demo twice):
//   npx gpuidx demo --no-serve --db A.db ; npx gpuidx demo --no-serve --methodology 2.0.0 --db B.db
//   npm run bench:methodology -- --v1 A.db --v2 B.db [--seed 42]
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { classLevel, SIM_CLASSES } from '../../src/simulator/market.js';

const { values: args } = parseArgs({
  options: { v1: { type: 'string' }, v2: { type: 'string' }, seed: { type: 'string', default: '42' }, series: { type: 'string', default: 'H100-SXM' } },
});
if (!args.v1 || !args.v2) {
  console.error('usage: npm run bench:methodology -- --v1 A.db --v2 B.db [--seed 42] [--series H100-SXM]');
  process.exit(2);
}
const cls = SIM_CLASSES.find((c) => c.code === args.series)!;
const sd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

function report(label: string, path: string): void {
  const db = new SqliteDatabase(path, { readonly: true, fileMustExist: true });
  const statuses = db.prepare('SELECT status, count(*) AS n FROM fixings GROUP BY status ORDER BY status').all() as { status: string; n: number }[];
  const rows = db.prepare('SELECT date, value, status FROM fixings WHERE series = ? ORDER BY date, revision').all(`GPUIDX-${cls.code}`) as {
    date: string;
    value: number | null;
    status: string;
  }[];
  db.close();
  const values = rows.filter((r) => r.value !== null);
  const changes = values.slice(1).map((r, i) => Math.log(r.value! / values[i]!.value!));
  const sim = values.map((r) => classLevel(Number(args.seed), cls, Date.parse(`${r.date}T12:00:00Z`)));
  const simChanges = sim.slice(1).map((v, i) => Math.log(v / sim[i]!));
  const gap = values.reduce((a, r, i) => a + Math.abs(r.value! / sim[i]! - 1), 0) / values.length;
  const total = statuses.reduce((a, s) => a + s.n, 0);
  console.log(`${label}: ${total} fixings: ${statuses.map((s) => `${s.n} ${s.status}`).join(', ')}`);
  console.log(
    `  GPUIDX-${cls.code}: ${values.length} values; daily log-change stdev ${(100 * sd(changes)).toFixed(2)}% vs the simulated level's ${(100 * sd(simChanges)).toFixed(2)}%; mean |value / level − 1| ${(100 * gap).toFixed(2)}%`,
  );
}
report('methodology v1', args.v1);
report('methodology v2', args.v2);
