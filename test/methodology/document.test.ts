// METHODOLOGY.md must agree with the parameter file: its tables are generated from it, and must be current.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beginMarker, END, methodologyTables } from '../../src/methodology/document.js';
import { loadMethodologies, METHODOLOGY_DIR } from '../../src/methodology/params.js';

describe('METHODOLOGY.md', () => {
  const text = readFileSync(join(METHODOLOGY_DIR, 'METHODOLOGY.md'), 'utf8');

  it("holds the tables generated from every version's parameter file (regenerate with `npx gpuidx methodology --markdown --version V`)", () => {
    for (const m of loadMethodologies()) {
      const start = text.indexOf(beginMarker(m.version));
      expect(start).toBeGreaterThan(0);
      const embedded = text.slice(start, text.indexOf(END, start) + END.length);
      expect(embedded).toBe(methodologyTables(m));
    }
  });

  it('names every parameter and every exclusion reason in its text', () => {
    const latest = loadMethodologies().at(-1)!;
    for (const k of Object.keys(latest.parameters)) expect(text).toContain(`\`${k}\``);
    for (const reason of [
      'unmapped_gpu',
      'duplicate',
      'not_available',
      'wrong_contract',
      'invalid_price',
      'price_out_of_band',
      'outlier',
      'no_tflops',
      'venue_not_admitted',
      'provenance_mismatch',
      'list_price_unweighted',
      'bid_above_ask',
      'not_persistent',
    ]) {
      expect(text).toContain(`\`${reason}\``);
    }
    for (const status of ['normal', 'extended_window', 'carried_forward', 'insufficient', 'list_price_tier']) expect(text).toContain(`\`${status}\``);
  });
});
