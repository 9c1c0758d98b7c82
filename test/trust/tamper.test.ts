// Tamper evidence as a forger with the database file would try it: edit the newest revision (whose signature is
// served), null the links after an edit, delete the chain's end, edit evidence, swap a trigger for a no-op of the
// same name, insert forged rows, rewrite the whole chain with a key of one's own. verify names each one.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { canonicalJson } from '../../src/methodology/canonical.js';
import { chainHash, GENESIS_CHAIN_HASH, publishedFixing, signedPayload } from '../../src/fixer/published.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { verifyPayload } from '../../src/signing/index.js';
import { fingerprintOf } from '../../src/signing/registry.js';
import { blockBytes } from '../../src/storage/audit-blocks.js';
import {
  auditColumnsOfRows,
  auditSha256,
  observationAt,
  observationBlockBytes,
  openDatabase,
  PRESENT,
  readAuditBlock,
  readObservationBlock,
  type AuditRowValues,
  type Db,
  type Fixing,
} from '../../src/storage/index.js';
import { FIXTURES, tempDb, testSigner, type TempDb } from '../helpers.js';

const NOW = Date.UTC(2026, 10, 21, 0, 30);
const PUBLISHER = testSigner(1);
const FORGER = testSigner(7);
let t: TempDb;
let scratch: string;
let lastId: number;
let keptHead: string;

/** A copy of the database opened raw with every trigger dropped (as a forger with the file would), edited, then the triggers put back exactly. */
async function forged(edit: (raw: SqliteDatabase.Database) => void, { restoreTriggers = true } = {}): Promise<Db> {
  const path = join(mkdtempSync(join(scratch, 'db-')), 'copy.db');
  copyFileSync(t.path, path);
  const raw = new SqliteDatabase(path);
  const triggers = raw.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; sql: string }[];
  for (const tr of triggers) raw.exec(`DROP TRIGGER ${tr.name}`);
  edit(raw);
  if (restoreTriggers) for (const tr of triggers) raw.exec(tr.sql);
  raw.close();
  return openDatabase(path);
}

const rowsOf = (raw: SqliteDatabase.Database) => raw.prepare('SELECT * FROM fixings ORDER BY id').all() as Fixing[];

beforeAll(async () => {
  t = await tempDb();
  scratch = mkdtempSync(join(tmpdir(), 'gpuidx-tamper-'));
  const deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: PUBLISHER };
  await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
  for (const date of ['2026-11-18', '2026-11-19', '2026-11-20']) await fixDate(deps, { date });
  lastId = Number(
    (
      await t.db
        .selectFrom('fixings')
        .select((eb) => eb.fn.max('id').as('m'))
        .executeTakeFirstOrThrow()
    ).m,
  );
  // The head an exchange fetched after the 2026-11-19 publication and kept.
  const heads = await t.db.selectFrom('chain_heads').selectAll().orderBy('id').execute();
  keptHead = heads[1]!.chain_hash;
  await t.db.destroy();
  t.db = await openDatabase(t.path);
});

afterAll(async () => {
  await t.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe('tamper evidence', () => {
  it('finds the untouched database sound, the kept head included', async () => {
    expect((await verifyDatabase(t.db, { heads: [keptHead], trustedFingerprints: [fingerprintOf(PUBLISHER.publicKeyPem)] })).problems).toEqual([]);
  });

  it('an edited newest revision: its stored signature no longer verifies, in verify and for a client of the API', async () => {
    const db = await forged((raw) => {
      const row = raw.prepare('SELECT record FROM fixings WHERE id = ?').get(lastId) as { record: string };
      const edited = JSON.parse(row.record) as { value: number | null };
      edited.value = 9.99;
      raw.prepare('UPDATE fixings SET record = ?, value = 9.99 WHERE id = ?').run(canonicalJson(edited), lastId);
    });
    try {
      const problems = (await verifyDatabase(db)).problems;
      expect(problems).toContainEqual(
        expect.stringMatching(new RegExp(`\\(fixing id ${lastId}\\): signature does not verify: the revision was changed after it was published$`)),
      );
      expect(problems).toContainEqual(expect.stringMatching(/^chain head 3 \(.*\): .* no longer hashes to the signed head/));
      // The API serves what is stored and signs nothing: the client's check fails.
      const row = (await db.selectFrom('fixings').selectAll().where('id', '=', lastId).executeTakeFirstOrThrow()) as Fixing;
      const res = await createApp({ db, clock: () => NOW }).request(`/v1/series/${row.series}/fixings/${row.date}`);
      const body = (await res.json()) as { fixing: { value: number }; signature: { payload: string; value: string } };
      expect(body.fixing.value).toBe(9.99);
      expect(verifyPayload(PUBLISHER.publicKeyPem, body.signature.payload, body.signature.value)).toBe(false);
    } finally {
      await db.destroy();
    }
  });

  it('an edit with every later link nulled: a missing link is a break, never skipped', async () => {
    const db = await forged((raw) => {
      raw.prepare('UPDATE fixings SET value = 3.33 WHERE id = 5').run();
      raw.prepare('UPDATE fixings SET previous_chain_hash = NULL WHERE id > 5').run();
    });
    try {
      const problems = (await verifyDatabase(db)).problems;
      expect(problems).toContainEqual(expect.stringMatching(/\(fixing id 5\): value column 3\.33 differs from its record's /));
      expect(problems).toContainEqual(expect.stringMatching(/\(fixing id 6\): hash chain link is missing \(a missing link is a break\)$/));
      expect(problems.filter((p) => p.includes('hash chain link is missing'))).toHaveLength(lastId - 5);
    } finally {
      await db.destroy();
    }
  });

  it("the chain's newest revision deleted: the signed chain head names what is gone", async () => {
    const db = await forged((raw) => {
      raw.prepare('DELETE FROM fixing_audit WHERE fixing_id = ?').run(lastId);
      raw.prepare('DELETE FROM fixings WHERE id = ?').run(lastId);
    });
    try {
      expect((await verifyDatabase(db)).problems).toEqual([`chain head 3: names fixing id ${lastId}, which is missing`]);
    } finally {
      await db.destroy();
    }
  });

  it('edited evidence: the evidence hash is inside the signed document', async () => {
    const db = await forged((raw) => raw.prepare('UPDATE fixings SET evidence = replace(evidence, \'"venue"\', \'"venue "\') WHERE id = 2').run());
    try {
      const problems = (await verifyDatabase(db)).problems;
      expect(problems[0]).toMatch(/\(fixing id 2\): signature does not verify: the revision was changed after it was published$/);
      expect(problems[1]).toMatch(/\(fixing id 3\): hash chain broken/);
    } finally {
      await db.destroy();
    }
  });

  /** Fixing 2's first audit block as stored, and its rows decoded. */
  const firstBlock = (raw: SqliteDatabase.Database) => {
    const stored = raw.prepare('SELECT encoding, row_count, data FROM fixing_audit WHERE fixing_id = 2 AND block = 0').get() as {
      encoding: string;
      row_count: number;
      data: Buffer;
    };
    const read = readAuditBlock(stored);
    if (!read.ok) throw new Error(read.reason);
    return read.rows;
  };

  /** Every audit row of a revision as a client reads it from the API, page after page. */
  async function auditFromApi(db: Db, series: string, date: string): Promise<{ signed: string; rows: AuditRowValues[] }> {
    const app = createApp({ db, clock: () => NOW });
    const fixing = (await (await app.request(`/v1/series/${series}/fixings/${date}`)).json()) as { fixing: { audit_sha256: string } };
    const rows: AuditRowValues[] = [];
    let next: string | null = `/v1/series/${series}/fixings/${date}/audit?limit=7`;
    while (next) {
      const page = (await (await app.request(next)).json()) as { inputs: (AuditRowValues & { outcome: string })[]; next: string | null };
      for (const r of page.inputs) rows.push({ ...r, reason: r.outcome === 'included' ? null : r.outcome });
      next = page.next;
    }
    return { signed: fixing.fixing.audit_sha256, rows };
  }

  it('an audit block rewritten with one weight changed: the audit hash is inside the signed document, and a client of the API sees it too', async () => {
    const original = await openDatabase(t.path);
    const fixing2 = (await original.selectFrom('fixings').selectAll().where('id', '=', 2).executeTakeFirstOrThrow()) as Fixing;
    // The untouched audit, paged out of the API, hashes to what the signature binds.
    const untouched = await auditFromApi(original, fixing2.series, fixing2.date);
    expect(auditSha256(auditColumnsOfRows(untouched.rows))).toBe(untouched.signed);
    await original.destroy();

    const db = await forged((raw) => {
      const rows = firstBlock(raw);
      const k = rows.present.findIndex((has) => (has & PRESENT.w) !== 0);
      rows.w[k] = rows.w[k]! * 2;
      const data = brotliCompressSync(blockBytes(rows, 0, rows.length));
      raw.prepare('UPDATE fixing_audit SET data = ? WHERE fixing_id = 2 AND block = 0').run(data);
    });
    try {
      expect((await verifyDatabase(db)).problems).toEqual([
        expect.stringMatching(/\(fixing id 2\): its audit rows do not hash to the audit_sha256 in its signed document: they were changed after publication$/),
      ]);
      const edited = await auditFromApi(db, fixing2.series, fixing2.date);
      expect(edited.signed).toBe(untouched.signed);
      expect(auditSha256(auditColumnsOfRows(edited.rows))).not.toBe(edited.signed);
    } finally {
      await db.destroy();
    }
  });

  it('an audit block garbled or removed: verify names it, and the audit API answers one clear line, not a stack trace', async () => {
    const garbled = await forged((raw) =>
      raw.prepare('UPDATE fixing_audit SET data = ? WHERE fixing_id = 2 AND block = 0').run(Buffer.from('not brotli at all')),
    );
    try {
      const problems = (await verifyDatabase(garbled)).problems;
      expect(problems).toEqual([expect.stringMatching(/\(fixing id 2\): audit block 0 cannot be read \(does not decompress \(.*\)\)$/)]);
      const f = (await garbled.selectFrom('fixings').selectAll().where('id', '=', 2).executeTakeFirstOrThrow()) as Fixing;
      const res = await createApp({ db: garbled, clock: () => NOW }).request(`/v1/series/${f.series}/fixings/${f.date}/audit`);
      expect(res.status).toBe(500);
      expect(((await res.json()) as { detail: string }).detail).toMatch(
        /^the audit of fixing id 2 cannot be read: block 0 does not decompress \(.*\) \(see gpuidx verify\)$/,
      );
    } finally {
      await garbled.destroy();
    }
    const removed = await forged((raw) => raw.prepare('DELETE FROM fixing_audit WHERE fixing_id = 2').run());
    try {
      expect((await verifyDatabase(removed)).problems).toEqual([
        expect.stringMatching(/\(fixing id 2\): its audit rows do not hash to the audit_sha256 in its signed document: they were changed after publication$/),
      ]);
    } finally {
      await removed.destroy();
    }
  });

  /** Snapshot 2's observations, decoded from its stored block, as rows to re-encode. */
  const observationsOfSnapshot2 = (raw: SqliteDatabase.Database) => {
    const stored = raw.prepare('SELECT first_observation_id, encoding, row_count, data FROM observation_blocks WHERE snapshot_id = 2').get() as {
      first_observation_id: number;
      encoding: string;
      row_count: number;
      data: Buffer;
    };
    const read = readObservationBlock(stored);
    if (!read.ok) throw new Error(read.reason);
    return Array.from({ length: read.block.length }, (_, k) => observationAt(read.block, k, 2, stored.first_observation_id));
  };

  it('observation blocks forged four ways (a GPU name its summary hides, garbled bytes, a block removed, ids renumbered): verify names each', async () => {
    const cases: [string, (raw: SqliteDatabase.Database) => void, RegExp][] = [
      [
        // A name moved to another class while the summary beside the block still lists the old one: the summary is
        // what tells a fixing whether a class is in its window.
        'renamed',
        (raw) => {
          const rows = observationsOfSnapshot2(raw);
          rows[0] = { ...rows[0]!, gpu_raw: 'NVIDIA H200 SXM' };
          const data = brotliCompressSync(observationBlockBytes(rows));
          raw.prepare('UPDATE observation_blocks SET data = ? WHERE snapshot_id = 2').run(data);
        },
        /^snapshot 2: its observation block does not hold the raw GPU names its stored summary lists$/,
      ],
      [
        'garbled',
        (raw) => raw.prepare('UPDATE observation_blocks SET data = ? WHERE snapshot_id = 2').run(Buffer.from('not brotli at all')),
        /^snapshot 2: its observation block cannot be read \(does not decompress \(.*\)\)$/,
      ],
      [
        'removed',
        (raw) => raw.prepare('DELETE FROM observation_blocks WHERE snapshot_id = 2').run(),
        /^snapshot 2: its parse accepted rows, but its observation block is missing$/,
      ],
      [
        // Snapshot 2's first observation id moved back onto snapshot 1's last: two observations would share an id.
        'renumbered',
        (raw) => raw.prepare('UPDATE observation_blocks SET first_observation_id = first_observation_id - 1 WHERE snapshot_id = 2').run(),
        /^snapshot 2: its observation block numbers observations from \d+, which the block before it already numbered \(to \d+\)$/,
      ],
    ];
    for (const [name, edit, expected] of cases) {
      const db = await forged(edit);
      try {
        const problems = (await verifyDatabase(db)).problems;
        // Fixings read observations too: those that did see the forged block no longer replay, which verify leaves to replay.
        console.log(name, problems);
        expect(
          problems.filter((p) => p.startsWith('snapshot ')),
          name,
        ).toEqual([expect.stringMatching(expected)]);
      } finally {
        await db.destroy();
      }
    }
  });

  it('a trigger swapped for a no-op of the same name', async () => {
    const db = await forged((raw) => raw.exec('CREATE TRIGGER fixings_no_update BEFORE UPDATE ON fixings BEGIN SELECT 1; END'), { restoreTriggers: false });
    try {
      const problems = (await verifyDatabase(db)).problems;
      expect(problems).toContain('append-only trigger fixings_no_update has been redefined: its SQL is not the one this software creates');
      expect(problems).toContain('append-only trigger fixings_no_delete is missing: stored rows could be changed silently');
    } finally {
      await db.destroy();
    }
  });

  it('a forged revision inserted at the end with a correct link: unsigned by any registered key, and past the last chain head', async () => {
    const db = await forged((raw) => {
      const last = rowsOf(raw).at(-1)!;
      const row = {
        ...last,
        id: last.id + 1,
        revision: 2,
        restatement_reason: 'forged',
        previous_chain_hash: chainHash(publishedFixing(last)),
        key_id: FORGER.keyId,
      };
      const signature = FORGER.sign(signedPayload(publishedFixing(row)));
      const cols = Object.keys(row);
      raw.prepare(`INSERT INTO fixings (${cols.join(',')}, signature) VALUES (${cols.map(() => '?').join(',')}, ?)`).run(...Object.values(row), signature);
    });
    try {
      const problems = (await verifyDatabase(db)).problems;
      expect(problems).toEqual([
        expect.stringMatching(new RegExp(`\\(fixing id ${lastId + 1}\\): signed by key ${FORGER.keyId}, which the key registry does not hold as valid at `)),
        // The copied row names the audit hash of the revision it copies, but the forger stored no audit blocks for it.
        expect.stringMatching(
          new RegExp(
            `\\(fixing id ${lastId + 1}\\): its audit rows do not hash to the audit_sha256 in its signed document: they were changed after publication$`,
          ),
        ),
        `revisions after fixing id ${lastId} are covered by no signed chain head: they were added outside a publication run`,
      ]);
    } finally {
      await db.destroy();
    }
  });

  it('the whole chain rewritten and re-signed with a key the forger registered: only a pinned key or a kept head shows it', async () => {
    const db = await forged((raw) => {
      raw.prepare('INSERT INTO signing_keys (key_id, public_key_pem, valid_from, valid_to) VALUES (?, ?, 0, NULL)').run(FORGER.keyId, FORGER.publicKeyPem);
      let previous: Fixing | undefined;
      const rows = rowsOf(raw);
      for (const original of rows) {
        const row = { ...original, key_id: FORGER.keyId, previous_chain_hash: previous ? chainHash(publishedFixing(previous)) : GENESIS_CHAIN_HASH };
        if (row.id === 1) {
          const record = JSON.parse(row.record) as { value: number | null };
          record.value = 0.01;
          row.record = canonicalJson(record);
          row.value = 0.01;
        }
        row.signature = FORGER.sign(signedPayload(publishedFixing(row)));
        raw
          .prepare('UPDATE fixings SET record = ?, value = ?, key_id = ?, previous_chain_hash = ?, signature = ? WHERE id = ?')
          .run(row.record, row.value, row.key_id, row.previous_chain_hash, row.signature, row.id);
        previous = row;
      }
      raw.prepare('DELETE FROM chain_heads').run();
      const payload = canonicalJson({ chain_hash: chainHash(publishedFixing(previous!)) });
      raw
        .prepare('INSERT INTO chain_heads (fixing_id, chain_hash, payload, key_id, signature, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(previous!.id, chainHash(publishedFixing(previous!)), payload, FORGER.keyId, FORGER.sign(payload), NOW);
    });
    try {
      // Trusting the database's own registry, a forger with the file and a key of their own leaves no trace...
      expect((await verifyDatabase(db)).problems).toEqual([]);
      // ...but a pinned publisher key refuses every signature, and a head kept from before is no longer a link.
      const pinned = (await verifyDatabase(db, { trustedFingerprints: [fingerprintOf(PUBLISHER.publicKeyPem)] })).problems;
      expect(pinned).toHaveLength(lastId + 1);
      expect(pinned[0]).toMatch(new RegExp(`\\(fixing id 1\\): signed by key ${FORGER.keyId} \\(fingerprint [0-9a-f]{64}\\), which is not a trusted key$`));
      expect((await verifyDatabase(db, { heads: [keptHead] })).problems).toEqual([
        `kept chain head ${keptHead.slice(0, 12)}… is not a link of the current chain: a revision published up to it was rewritten, removed or inserted`,
      ]);
    } finally {
      await db.destroy();
    }
  });
});
