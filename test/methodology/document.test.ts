// METHODOLOGY.md must agree with the parameter file: its tables are generated from it, and must be current.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, methodologyTables } from '../../src/methodology/document.js';
import { loadMethodologies, METHODOLOGY_DIR } from '../../src/methodology/params.js';

describe('METHODOLOGY.md', () => {
  const text = readFileSync(join(METHODOLOGY_DIR, 'METHODOLOGY.md'), 'utf8');

  it('holds the tables generated from the latest parameter file (regenerate with `npx gpuidx methodology --markdown`)', () => {
    const latest = loadMethodologies().at(-1)!;
    const embedded = text.slice(text.indexOf(BEGIN), text.indexOf(END) + END.length);
    expect(embedded).toBe(methodologyTables(latest));
  });

  it('names every parameter and every exclusion reason in its text', () => {
    const latest = loadMethodologies().at(-1)!;
    for (const k of Object.keys(latest.parameters)) expect(text).toContain(`\`${k}\``);
    for (const reason of ['unmapped_gpu', 'duplicate', 'not_available', 'wrong_contract', 'invalid_price', 'price_out_of_band', 'outlier', 'no_tflops']) {
      expect(text).toContain(`\`${reason}\``);
    }
    for (const status of ['normal', 'extended_window', 'carried_forward', 'insufficient']) expect(text).toContain(`\`${status}\``);
  });
});
