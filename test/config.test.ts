// Configuration: defaults for everything, and a message naming each bad value.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../src/config/index.js';

describe('configuration', () => {
  it('accepts the example file shipped beside the README, and defaults the API to loopback', () => {
    const c = loadConfig(join(import.meta.dirname, '..', 'gpuidx.config.example.json'));
    expect(c.api).toEqual({ host: '127.0.0.1', port: 8080, max_range_days: 3660, health: { max_fixing_age_hours: 50, max_collection_age_minutes: 60 } });
    expect(parseConfig({}).api).toEqual(c.api);
    expect(() => parseConfig({ api: { port: 70000 } })).toThrow('api.port: Too big: expected number to be <=65535');
  });

  it('defaults every venue to every 10 minutes, enabled, with quantity 1', () => {
    const c = parseConfig({});
    expect(Object.keys(c.venues)).toEqual(['vast', 'runpod', 'lambda', 'tensordock', 'akash', 'azure']);
    for (const v of Object.values(c.venues)) expect(v).toMatchObject({ enabled: true, schedule: '*/10 * * * *', default_quantity: 1, max_pages: 50 });
    expect(c.venues.azure.regions).toEqual(['eastus', 'westeurope', 'southcentralus']);
    expect(c.http).toEqual({
      connect_timeout_ms: 10_000,
      headers_timeout_ms: 30_000,
      body_timeout_ms: 30_000,
      total_timeout_ms: 60_000,
      max_attempts: 4,
      backoff_base_ms: 1_000,
      backoff_max_ms: 60_000,
      retry_after_max_ms: 300_000,
      max_body_bytes: 67_108_864, // 64 MiB: a full Vast.ai search of 15,000 offers is ~41 MB
    });
  });

  it('keeps per-venue overrides', () => {
    const c = parseConfig({ venues: { vast: { schedule: '*/5 * * * *', gpu_names: ['H100 SXM'] }, azure: { enabled: false } } });
    expect(c.venues.vast).toMatchObject({ schedule: '*/5 * * * *', gpu_names: ['H100 SXM'], limit: 5000 });
    expect(c.venues.azure.enabled).toBe(false);
  });

  it('names every bad value in one error', () => {
    let error: ConfigError | undefined;
    try {
      parseConfig(
        {
          venues: { vastai: {}, azure: { schedule: 'hourly', regions: [] }, lambda: { base_url: 'not a url', default_quantity: 0 } },
          http: { max_attempts: 0, retries: 3 },
        },
        'gpuidx.config.json',
      );
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'http.max_attempts: Too small: expected number to be >=1',
      'http: unknown key(s) "retries"',
      'venues.lambda.base_url: Invalid URL',
      'venues.lambda.default_quantity: Too small: expected number to be >=1',
      'venues.azure.schedule: not a valid cron expression (five or six fields, for example "*/10 * * * *")',
      'venues.azure.regions: Too small: expected array to have >=1 items',
      'venues: unknown key(s) "vastai" (known venues: vast, runpod, lambda, tensordock, akash, azure)',
    ]);
    expect(error!.message.split('\n')[0]).toBe('invalid configuration in gpuidx.config.json:');
  });

  it('reports a missing file and invalid JSON clearly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpuidx-cfg-'));
    expect(() => loadConfig(join(dir, 'nope.json'))).toThrow(/cannot read the file: ENOENT/);
    writeFileSync(join(dir, 'bad.json'), '{ venues: }');
    expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/not valid JSON/);
  });
});
