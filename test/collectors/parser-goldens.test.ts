// Every registered parser version is locked by golden outputs over the venue fixtures (fixtures/parsers/*.json,
// readable JSON): a change to what a version produces fails here, so a fix must become `venue/N+1` and snapshots
// read by the old version keep replaying with it. GPUIDX_WRITE_GOLDEN=1 only adds what is missing (a new
// version's golden, a new fixture's entry), to be reviewed by hand; an entry once written never changes.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parserFor, parserVersions } from '../../src/collectors/parsers.js';
import { FIXTURES } from '../helpers.js';

const GOLDENS = join(FIXTURES, 'parsers');
const OPTIONS = { default_quantity: 8 };

/** The fixture payloads a version reads: its venue's JSON fixtures, or each line of the generic samples. */
function payloads(version: string): { name: string; json: unknown }[] {
  const venue = version.split('/')[0]!;
  if (venue === 'generic') {
    return readdirSync(join(FIXTURES, 'generic'))
      .sort()
      .flatMap((f) =>
        readFileSync(join(FIXTURES, 'generic', f), 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l, i) => ({ name: `${f}:${i + 1}`, json: JSON.parse(l) as unknown })),
      );
  }
  return readdirSync(join(FIXTURES, 'venues', venue))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f, json: JSON.parse(readFileSync(join(FIXTURES, 'venues', venue, f), 'utf8')) as unknown }));
}

function outputs(version: string): Record<string, unknown> {
  const parse = parserFor(version)!;
  return Object.fromEntries(
    payloads(version).map(({ name, json }) => {
      const p = parse(json, OPTIONS);
      return [
        name,
        p.ok
          ? {
              rows_total: p.rowsTotal,
              ignored: p.ignoredReasons,
              issues: p.issues.map((i) => [i.rowIndex, i.code]),
              listings: p.listings.map((l) => ({ row: l.row, ...l.listing })),
            }
          : { rejected: p.code },
      ];
    }),
  );
}

describe('parser versions are locked by their goldens', () => {
  it.each(parserVersions())('%s gives exactly its golden outputs', (version) => {
    const file = join(GOLDENS, `${version.replace('/', '-')}.json`);
    const actual = outputs(version);
    const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { outputs: Record<string, unknown> }).outputs : {};
    if (process.env.GPUIDX_WRITE_GOLDEN === '1') {
      const merged = {
        ...Object.fromEntries(
          Object.keys(actual)
            .filter((k) => !(k in stored))
            .map((k) => [k, actual[k]]),
        ),
        ...stored,
      };
      const sorted = Object.fromEntries(
        Object.keys(merged)
          .sort()
          .map((k) => [k, merged[k]]),
      );
      writeFileSync(file, `${JSON.stringify({ parser_version: version, default_quantity: OPTIONS.default_quantity, outputs: sorted }, null, 1)}\n`);
      Object.assign(stored, sorted);
    }
    expect(
      Object.keys(actual).filter((k) => !(k in stored)),
      `fixtures without a golden entry for ${version}: add them with GPUIDX_WRITE_GOLDEN=1 and review`,
    ).toEqual([]);
    for (const [fixture, golden] of Object.entries(stored)) expect(actual[fixture], `${version} on ${fixture}`).toEqual(golden);
  });

  // Ingest hashes a snapshot's content identity from the JSON value after parsing (sparing a second parse of a
  // large body), so a parser that changed its input would change the identity of what it stored.
  it.each(parserVersions())('%s leaves the decoded JSON it reads unchanged', (version) => {
    for (const { name, json } of payloads(version)) {
      const before = JSON.stringify(json);
      parserFor(version)!(json, OPTIONS);
      expect(JSON.stringify(json), `${version} on ${name}`).toBe(before);
    }
  });

  it('has a golden for every registered version and none for an unregistered one', () => {
    expect(readdirSync(GOLDENS).sort()).toEqual(
      parserVersions()
        .map((v) => `${v.replace('/', '-')}.json`)
        .sort(),
    );
  });
});
