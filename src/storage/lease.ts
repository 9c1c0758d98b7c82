// Elects the one process that publishes. On PostgreSQL: a session advisory lock, held on a connection of its own
// for as long as the process lives; the server releases it when that connection ends, so a publisher that dies
// (kill -9, a lost machine) hands over to a standby within one of its ticks. On SQLite (one machine) every
// publisher is elected: the write lock already makes a second publisher of a date find it published.
import { isPostgresTarget } from './target.js';

/** Advisory lock key of the publisher lease ('gpup'); the write lock is another key. */
export const PUBLISHER_LOCK_KEY = 0x67707570;

export interface PublisherLease {
  /** True when this process is the publisher: it takes the lease if it is free, and checks that it still holds it. */
  acquire(): Promise<boolean>;
  /** Gives the lease up (on a clean stop), so that a standby takes over at once. */
  release(): Promise<void>;
}

export async function publisherLease(target: string): Promise<PublisherLease> {
  if (!isPostgresTarget(target)) return { acquire: async () => true, release: async () => {} };
  const { default: pg } = await import('pg');
  let client: InstanceType<typeof pg.Client> | null = null;
  let held = false;

  const drop = async () => {
    const c = client;
    client = null;
    held = false;
    await c?.end().catch(() => {});
  };

  return {
    async acquire() {
      if (client && held) {
        // The lock is the server's record, not ours: ask it, so a connection cut behind our back is noticed.
        const still = await client
          .query(`select 1 from pg_locks where locktype = 'advisory' and objid = $1 and pid = pg_backend_pid() and granted`, [PUBLISHER_LOCK_KEY])
          .then((r) => (r.rowCount ?? 0) > 0)
          .catch(() => false);
        if (still) return true;
        await drop();
      }
      try {
        if (!client) {
          const c = new pg.Client({ connectionString: target, keepAlive: true, application_name: 'gpuidx publisher lease' });
          // A connection lost while idle must not crash the process: the next acquire() reconnects.
          c.on('error', () => {
            held = false;
          });
          await c.connect();
          client = c;
        }
        const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [PUBLISHER_LOCK_KEY]);
        held = r.rows[0]?.ok === true;
        return held;
      } catch {
        await drop();
        return false;
      }
    },
    async release() {
      if (client && held) await client.query('select pg_advisory_unlock($1)', [PUBLISHER_LOCK_KEY]).catch(() => {});
      await drop();
    },
  };
}
