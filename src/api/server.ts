// Serves the publication API over HTTP with @hono/node-server, and builds the app from a CLI context.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/index.js';
import type { Db } from '../storage/index.js';
import { createApp, type AppDeps } from './app.js';

export interface ApiSettings {
  host: string;
  port: number;
  signing_key_file?: string | undefined;
  max_range_days: number;
  health: NonNullable<AppDeps['health']>;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the app and listens. The API holds no private key: it serves the signatures stored at publication and the
 * public keys of the database's key registry.
 */
export async function startApi(db: Db, settings: ApiSettings, log: Logger, clock: () => number = Date.now): Promise<RunningServer> {
  const app = createApp({ db, clock, log, health: settings.health, maxRangeDays: settings.max_range_days });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: settings.host, port: settings.port }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  log.info(`API listening on ${url} (reference: ${url}/docs)`);
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
