// The exit codes of every gpuidx command, in one place (documented in the README).
export const EXIT = {
  /** Done, nothing wrong found. */
  ok: 0,
  /** The command ran and found a problem: a venue failed, a replay mismatch, a verify problem, a fixing needing --restate. */
  problem: 1,
  /** A bad argument, configuration, missing database or unreadable bundle: nothing was done. */
  usage: 2,
  /** Another gpuidx process held the database's write lock past the busy timeout: nothing was done; try again. */
  busy: 3,
  /** The publication controls refused the date (not ended yet, or before every methodology's effective date). */
  refused: 4,
  /** A signing-key problem: the key in use is not the registered active key, or a bundle is not signed by the trusted key. */
  key: 5,
  /** The PostgreSQL server could not be reached or refused the connection: nothing was done; try again. */
  unavailable: 6,
  /** An unexpected fault (a bug): the message and stack go to stderr. */
  unexpected: 70,
} as const;
