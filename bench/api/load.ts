// The load generator of bench/api: `connections` keep-alive connections (undici's Pool, the HTTP client of the
// stack), each sending its next request when the last answer has been read, for `seconds`.
//
// Not autocannon, which this bench used first: it appends every response body to a JavaScript string
// (`req.body += data`), so on a gzip body (binary, decoded as UTF-8 every time) or a 400 KB history the client was
// the bottleneck: the server sat 87% idle while autocannon reported 3% of hello world. Here a body is read as
// chunks and only counted. Subject and baseline are measured by the same client, and the server's own CPU time per
// request is reported beside the rate, which does not depend on how fast the client is.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

export interface Load {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time (user + system) per request, in microseconds, when the server's pid can be read. */
  cpuUsPerRequest: number | null;
  /** Body bytes of the last response. */
  bytes: number;
}

export interface LoadOptions {
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** A status accepted beside 2xx (health answers 503 when stale). */
  allowStatus?: number;
  /** The server's pid, to read its CPU time from /proc (Linux). */
  serverPid?: number;
}

export async function load(url: string, opts: LoadOptions): Promise<Load> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: opts.connections, pipelining: 1 });
  const latencies: number[] = [];
  let bytes = 0;
  let unexpected = '';
  const cpuBefore = cpuTicks(opts.serverPid);
  const start = performance.now();
  const end = start + opts.seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: opts.connections }, async () => {
        while (performance.now() < end && !unexpected) {
          const t = performance.now();
          const r = await pool.request({ path: target.pathname + target.search, method: 'GET', headers: opts.headers ?? {} });
          let n = 0;
          for await (const chunk of r.body) n += (chunk as Buffer).byteLength;
          latencies.push(performance.now() - t);
          bytes = n;
          if ((r.statusCode < 200 || r.statusCode > 299) && r.statusCode !== opts.allowStatus) unexpected = `${url}: answered ${r.statusCode}`;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  if (unexpected) throw new Error(unexpected);
  const elapsed = (performance.now() - start) / 1000;
  const cpuAfter = cpuTicks(opts.serverPid);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    rps: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    // /proc/PID/stat counts in clock ticks of 10 ms.
    cpuUsPerRequest: cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 10_000) / latencies.length,
    bytes,
  };
}

/** utime + stime of a process, in clock ticks, from /proc (null elsewhere). */
function cpuTicks(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // The fields after the command name (which may hold spaces) start at state; utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}
