// Configuration file and environment, parsed and validated with zod at the boundary, with messages that name the bad value.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { httpPolicySchema } from '../collectors/http.js';
import { VENUES, VENUE_NAMES } from '../collectors/venues/index.js';
import { cronSchema } from '../collectors/adapter.js';

export const configSchema = z
  .object({
    http: httpPolicySchema.prefault({}),
    fixing: z
      .object({
        /** When `gpuidx run` publishes the previous UTC day's fixings (cron, UTC). */
        publish_schedule: cronSchema.default('30 0 * * *'),
        /** How long after a UTC day ends its fixings may first be published (late runs of the day land first). */
        publication_delay_minutes: z.number().int().min(0).max(1440).default(15),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        /** Loopback by default: exposing the API is a deliberate choice. */
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Ed25519 private key (PKCS#8 PEM); default: generated on first start beside the database, mode 0600. */
        signing_key_file: z.string().min(1).optional(),
        /** Longest history range one request may ask for. */
        max_range_days: z.number().int().min(1).default(3660),
        health: z
          .object({
            max_fixing_age_hours: z.number().positive().default(50),
            max_collection_age_minutes: z.number().positive().default(60),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    venues: z
      .object({
        vast: VENUES.vast.configSchema.prefault({}),
        runpod: VENUES.runpod.configSchema.prefault({}),
        lambda: VENUES.lambda.configSchema.prefault({}),
        tensordock: VENUES.tensordock.configSchema.prefault({}),
        akash: VENUES.akash.configSchema.prefault({}),
        azure: VENUES.azure.configSchema.prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type Config = z.infer<typeof configSchema>;

export const DEFAULT_CONFIG_FILE = 'gpuidx.config.json';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describe(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const where = i.path.length ? i.path.join('.') : '(top level)';
    if (i.code === 'unrecognized_keys') {
      const known = where === 'venues' ? ` (known venues: ${VENUE_NAMES.join(', ')})` : '';
      return `${where}: unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}${known}`;
    }
    return `${where}: ${i.message}`;
  });
}

export function parseConfig(value: unknown, source = 'configuration'): Config {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(source, describe(parsed.error));
  return parsed.data;
}

/**
 * Loads the configuration file: the given path (which must exist), else ./gpuidx.config.json when present,
 * else every default.
 */
export function loadConfig(path: string | undefined): Config {
  const file = path ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (!file) return parseConfig({}, 'defaults');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseConfig(json, file);
}

/** The environment variables gpuidx reads. API keys are read per venue through each adapter's `apiKeyEnv`. */
export const envSchema = z.object({
  GPUIDX_DB: z.string().min(1).optional(),
  GPUIDX_CONFIG: z.string().min(1).optional(),
  /** How long a writer waits for another process's database write lock before giving up (exit 3); default 30000. */
  GPUIDX_BUSY_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).optional(),
  /** The publisher's Ed25519 key file when the configuration names none (required with a PostgreSQL database). */
  GPUIDX_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** PostgreSQL only: connections per process (default 10). */
  GPUIDX_PG_POOL_SIZE: z.coerce.number().int().min(1).max(1000).optional(),
});
export type Env = z.infer<typeof envSchema>;

/** Every API key variable the venues know, for redaction. */
export function apiKeyValues(env: Record<string, string | undefined>): string[] {
  return Object.values(VENUES)
    .map((v) => (v.apiKeyEnv ? env[v.apiKeyEnv] : undefined))
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
}
