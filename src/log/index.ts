// Line logger: one human-readable line per event on stderr, with every known secret redacted on the way out.
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface LoggerOptions {
  write?: (line: string) => void;
  redact?: (text: string) => string;
  clock?: () => number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const redact = options.redact ?? ((t: string) => t);
  const clock = options.clock ?? Date.now;
  const emit = (level: string) => (message: string) => write(`${new Date(clock()).toISOString()} ${level} ${redact(message)}\n`);
  return { info: emit('INFO '), warn: emit('WARN '), error: emit('ERROR') };
}

/** A logger that keeps lines in memory, for tests and for commands that report at the end. */
export function memoryLogger(redact?: (text: string) => string): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l.trimEnd()), clock: () => 0, ...(redact ? { redact } : {}) });
  return Object.assign(logger, { lines });
}
