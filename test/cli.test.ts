// The real `gpuidx` binary in a child process: import, collect --once, and a scheduled run stopped by SIGTERM.
import { spawn } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/storage/index.js';
import { CLI_ENV, FIXTURES, GPUIDX_BIN, runCli, tempPgDatabase } from './helpers.js';

const BIN = GPUIDX_BIN;
const akashBody = readFileSync(join(FIXTURES, 'venues/akash/gpu-prices.json'));

// A loopback stand-in for Akash: the real binary talks real HTTP to it.
let venue: Server;
let base: string;
beforeAll(async () => {
  venue = createServer((req, res) => {
    if (req.url === '/v1/gpu-prices') res.writeHead(200, { 'content-type': 'application/json' }).end(akashBody);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => venue.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(venue.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => venue.close(() => r())));

function workdir(schedule = '*/10 * * * *') {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-cli-'));
  const off = { enabled: false };
  writeFileSync(
    join(dir, 'config.json'),
    // Port 0: the API inside `gpuidx run` takes a free port, so parallel tests never collide.
    JSON.stringify({ api: { port: 0 }, venues: { vast: off, runpod: off, lambda: off, tensordock: off, azure: off, akash: { base_url: base, schedule } } }),
  );
  return { dir, db: join(dir, 'g.db'), config: join(dir, 'config.json') };
}

const env = CLI_ENV;

const gpuidx = (args: string[]) => runCli(args);

describe('gpuidx CLI', () => {
  it('imports a JSON Lines file and reports what it stored', async () => {
    const w = workdir();
    const r = await gpuidx(['--db', w.db, 'import', join(FIXTURES, 'generic/sample.jsonl')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `${join(FIXTURES, 'generic/sample.jsonl')}: 2 line(s), 2 snapshot(s) stored, 0 already stored, 3 observation(s), 0 partial, 0 rejected\n`,
    );
  });

  it('venues --unmapped lists the raw GPU names no class takes, most frequent first', async () => {
    const w = workdir();
    const file = join(w.dir, 'names.jsonl');
    const listing = (id: string, gpu: string) => ({ listing_id: id, gpu, gpu_count: 1, price_usd_per_hour: 2, contract: 'on_demand', available: true });
    writeFileSync(
      file,
      [
        JSON.stringify({
          venue: 'partner-a',
          fetched_at: '2026-11-20T00:00:00Z',
          listings: [listing('a1', 'Mystery X'), listing('a2', 'Mystery X'), listing('a3', 'H100 SXM')],
        }),
        JSON.stringify({ venue: 'partner-b', fetched_at: '2026-11-20T01:00:00Z', listings: [listing('b1', 'GB300'), listing('b2', 'A100 SXM4')] }),
      ].join('\n'),
    );
    expect((await gpuidx(['--db', w.db, 'import', file])).status).toBe(0);
    const r = await gpuidx(['--db', w.db, 'venues', '--unmapped']);
    expect(r.status).toBe(0);
    // "A100 SXM4" is a name of two classes (40 and 80 GB); a file reports no memory, so it is listed as ambiguous.
    expect(r.stdout).toBe(
      '        2  partner-a   "Mystery X"  last seen 2026-11-20T00:00:00.000Z\n' +
        '        1  partner-b   "A100 SXM4" no memory reported: memory_ambiguous  last seen 2026-11-20T01:00:00.000Z\n' +
        '        1  partner-b   "GB300"  last seen 2026-11-20T01:00:00.000Z\n',
    );
  });

  it('collect --once prints a summary per venue and exits 0 when none failed', async () => {
    const w = workdir();
    const r = await gpuidx(['--db', w.db, '--config', w.config, 'collect', '--once']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('venue  outcome  snapshots  observations  attempts  error\n' + 'akash  ok       1          3             1\n');
  });

  it('exits 2 with the problems named when the configuration is invalid', async () => {
    const w = workdir();
    writeFileSync(w.config, JSON.stringify({ venues: { akash: { schedule: 'often' } } }));
    const r = await gpuidx(['--db', w.db, '--config', w.config, 'collect', '--once']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `gpuidx: invalid configuration in ${w.config}:\n  - venues.akash.schedule: not a valid cron expression (five or six fields, for example "*/10 * * * *")\n`,
    );
  });

  it('runs on schedule and exits cleanly on SIGTERM', async () => {
    const w = workdir('* * * * * *');
    const child = spawn(process.execPath, [BIN, '--db', w.db, '--config', w.config, 'run'], { env });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no collection within 15 s:\n${stderr}`)), 15_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('akash: ok')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM received: finishing current writes, then exiting');
    expect(stderr).toMatch(/stopped cleanly\n$/);
    const db = await openDatabase(w.db);
    const runs = await db.selectFrom('collector_runs').select(['venue', 'outcome']).execute();
    await db.destroy();
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.every((r) => r.venue === 'akash' && r.outcome === 'ok')).toBe(true);
    expect(stderr).toMatch(/API listening on http:\/\/127\.0\.0\.1:\d+/);
  });

  it('fix publishes a date, serve answers with it signed, and SIGTERM stops the server', async () => {
    const w = workdir();
    expect((await gpuidx(['--db', w.db, 'import', join(FIXTURES, 'market/three-days.jsonl')])).status).toBe(0);
    const fixed = await gpuidx(['--db', w.db, 'fix', '--date', '2026-11-18', '--series', 'GPUIDX-H100-SXM', 'GPUIDX-B200']);
    expect(fixed.status).toBe(0);
    expect(fixed.stdout).toBe('GPUIDX-H100-SXM            revision 1  normal          2.2\nGPUIDX-B200                revision 1  insufficient    -\n');
    const again = await gpuidx(['--db', w.db, 'fix', '--date', '2026-11-18', '--series', 'GPUIDX-H100-SXM']);
    expect(again.stdout).toBe('GPUIDX-H100-SXM            revision 1  unchanged (same inputs)\n');

    const child = spawn(process.execPath, [BIN, '--db', w.db, 'serve', '--port', '0'], { env });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    const body = (await (await fetch(`${url}/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18`)).json()) as {
      fixing: { value: number };
      signature: { algorithm: string };
    };
    expect(body.fixing.value).toBe(2.2);
    expect(body.signature.algorithm).toBe('Ed25519');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('replays a date range, verifies the database, exports a bundle and replays it without the database', async () => {
    const w = workdir();
    await gpuidx(['--db', w.db, 'import', join(FIXTURES, 'market/three-days.jsonl')]);
    for (const d of ['2026-11-18', '2026-11-19']) expect((await gpuidx(['--db', w.db, 'fix', '--date', d])).status).toBe(0);
    const replay = await gpuidx(['--db', w.db, 'replay', '--from', '2026-11-18', '--to', '2026-11-20']);
    expect(replay.status).toBe(0);
    expect(replay.stdout.split('\n').filter((l) => l.startsWith('match')).length).toBe(82);
    expect(replay.stdout).toContain('none      no published fixing for 2026-11-20\n');
    expect(replay.stdout.endsWith('replayed 82 fixing revision(s) over 3 date(s): 82 match, 0 mismatch\n')).toBe(true);
    // Replaying a date with nothing published proves nothing: it is not a success.
    const nothing = await gpuidx(['--db', w.db, 'replay', '--date', '2026-11-25']);
    expect(nothing.status).toBe(1);
    expect(nothing.stdout).toBe(
      'none      no published fixing for 2026-11-25\nreplayed 0 fixing revision(s) over 1 date(s): 0 match, 0 mismatch\nnothing was replayed: no fixing is published for the date(s) asked\n',
    );

    const verify = await gpuidx(['--db', w.db, 'verify']);
    expect(verify.status).toBe(0);
    // The fingerprint an exchange pins: sha256 of the publisher's public key (DER), computed here from the key file.
    const der = createPublicKey(readFileSync(`${w.db}.signing-key.pem`)).export({ type: 'spki', format: 'der' });
    const fingerprint = createHash('sha256').update(der).digest('hex');
    expect(verify.stdout).toBe(
      `key      ${fingerprint.slice(0, 16)}  fingerprint ${fingerprint}  (from the database registry; pin it with --fingerprint)\n` +
        'verified: 27 snapshots hash to their recorded sha256; 82 fixing revisions agree with their records, 82 carry valid signatures made at publication, and form an unbroken hash chain matching 2 signed chain head(s); append-only triggers exactly as created\n',
    );

    const out = join(w.dir, 'bundle');
    const exported = await gpuidx(['--db', w.db, 'export', '--date', '2026-11-19', '--series', 'GPUIDX-H100-SXM', '--out', out]);
    expect(exported.status).toBe(0);
    // 40 files: 18 snapshots (body and metadata), the fixing, the methodology, the public key and the chain head.
    expect(exported.stdout).toMatch(
      new RegExp(`^${out}: 40 files, \\d+ bytes, 1 series of 2026-11-19; check it with: gpuidx replay --bundle ${out} --fingerprint ${fingerprint}\n$`),
    );
    const fromBundle = await gpuidx(['--db', join(w.dir, 'absent', 'none.db'), 'replay', '--bundle', out, '--fingerprint', fingerprint]);
    expect(fromBundle.stdout).toBe(
      `key       ${fingerprint.slice(0, 16)}  fingerprint ${fingerprint}  (pinned)\nmatch     GPUIDX-H100-SXM 2026-11-19 r1\nreplayed 1 fixing revision(s) over 1 date(s): 1 match, 0 mismatch\n`,
    );
    expect(fromBundle.status).toBe(0);
    expect(existsSync(join(w.dir, 'absent'))).toBe(false);
    const again = await gpuidx(['--db', w.db, 'export', '--date', '2026-11-19', '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(`gpuidx: ${out} is not empty; choose a new folder\n`);
  });

  it('simulate writes generic JSON Lines that import as snapshots', async () => {
    const w = workdir();
    const file = join(w.dir, 'sim.jsonl');
    const r = await gpuidx(['simulate', '--days', '1', '--scale', '0.2', '--seed', '7', '--out', file]);
    expect(r.status).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    // Four simulated marketplaces every 10 minutes for a day.
    expect(lines).toHaveLength(4 * 144);
    const listings = lines.reduce((n, l) => n + (JSON.parse(l) as { listings: unknown[] }).listings.length, 0);
    expect(r.stdout).toBe(`${file}: 576 snapshots, ${listings} listings over 1 day(s); import with: gpuidx import ${file}\n`);
    const imported = await gpuidx(['--db', w.db, 'import', file]);
    expect(imported.stdout).toBe(`${file}: 576 line(s), 576 snapshot(s) stored, 0 already stored, ${listings} observation(s), 0 partial, 0 rejected\n`);
    const bad = await gpuidx(['simulate', '--days', 'many', '--out', file]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('gpuidx: --days must be a whole number from 1 to 3660, got "many"\n');
  });
});

describe('gpuidx CLI on PostgreSQL', () => {
  it('fixes with a named key, refuses without one, runs as an API replica only, and names an unreachable server', async () => {
    const w = workdir();
    const database = await tempPgDatabase();
    try {
      expect((await gpuidx(['--db', database.url, 'import', join(FIXTURES, 'market/three-days.jsonl')])).status).toBe(0);
      // No key beside a PostgreSQL database: the publisher names its key.
      const keyless = await gpuidx(['--db', database.url, 'fix', '--date', '2026-11-18', '--series', 'GPUIDX-H100-SXM']);
      expect(keyless.status).toBe(2);
      expect(keyless.stderr).toBe(
        'gpuidx: invalid configuration in the environment:\n  - a PostgreSQL database keeps no signing key beside it: set GPUIDX_SIGNING_KEY_FILE (or api.signing_key_file) to the key file every publisher of this deployment shares\n',
      );
      const keyed = { ...env, GPUIDX_SIGNING_KEY_FILE: join(w.dir, 'publisher.pem') };
      const fixed = await runCli(['--db', database.url, 'fix', '--date', '2026-11-18', '--series', 'GPUIDX-H100-SXM'], keyed);
      expect(fixed.stdout).toBe('GPUIDX-H100-SXM            revision 1  normal          2.2\n');

      // `run --role api`: no collector, no publisher, the API only.
      const child = spawn(process.execPath, [BIN, '--db', database.url, '--config', w.config, 'run', '--role', 'api'], { env });
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const url = await new Promise<string>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) resolve(m[1]!);
        });
      });
      const health = (await (await fetch(`${url}/v1/health`)).json()) as { engine: string; publisher: unknown };
      expect(health).toMatchObject({ engine: 'postgres', publisher: null });
      const body = (await (await fetch(`${url}/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18`)).json()) as { fixing: { value: number } };
      expect(body.fixing.value).toBe(2.2);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain(`running as api against ${database.url}`);
      expect(stderr).not.toMatch(/akash|fixings: publishing/);
    } finally {
      await database.drop();
    }
    // Port 1 on loopback: nothing listens there.
    const down = await gpuidx(['--db', 'postgres://gpuidx:secret@127.0.0.1:1/gpuidx', 'verify']);
    expect(down.status).toBe(6);
    expect(down.stderr).toMatch(/^gpuidx: cannot connect to postgres:\/\/gpuidx:\*\*\*@127\.0\.0\.1:1\/gpuidx: .*ECONNREFUSED.*\n$/);
  });
});
