/**
 * Logging without `console`: the core emits records to a sink the host provides. Levels follow
 * libwebsockets' (LLL_ERR … LLL_DEBUG); a disabled level costs one comparison.
 */

export const LOG_LEVELS = ['err', 'warn', 'notice', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogRecord {
  level: LogLevel;
  /** monotonic µs */
  atUs: number;
  /** "system", "smd", "sul", a protocol name… */
  subsystem: string;
  msg: string;
  fields?: Record<string, unknown>;
}

export type LogSink = (rec: LogRecord) => void;

export function logLevelFromName(name: string): LogLevel | undefined {
  return (LOG_LEVELS as readonly string[]).includes(name) ? (name as LogLevel) : undefined;
}

export class Logger {
  private rank: number;

  constructor(
    private readonly sink: LogSink | undefined,
    level: LogLevel,
    private readonly nowUs: () => number,
  ) {
    this.rank = LOG_LEVELS.indexOf(level);
  }

  set level(level: LogLevel) {
    this.rank = LOG_LEVELS.indexOf(level);
  }

  enabled(level: LogLevel): boolean {
    return this.sink !== undefined && LOG_LEVELS.indexOf(level) <= this.rank;
  }

  log(level: LogLevel, subsystem: string, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const rec: LogRecord = { level, atUs: this.nowUs(), subsystem, msg };
    if (fields) rec.fields = fields;
    (this.sink as LogSink)(rec);
  }

  err(subsystem: string, msg: string, fields?: Record<string, unknown>): void { this.log('err', subsystem, msg, fields); }
  warn(subsystem: string, msg: string, fields?: Record<string, unknown>): void { this.log('warn', subsystem, msg, fields); }
  notice(subsystem: string, msg: string, fields?: Record<string, unknown>): void { this.log('notice', subsystem, msg, fields); }
  info(subsystem: string, msg: string, fields?: Record<string, unknown>): void { this.log('info', subsystem, msg, fields); }
  debug(subsystem: string, msg: string, fields?: Record<string, unknown>): void { this.log('debug', subsystem, msg, fields); }
}
