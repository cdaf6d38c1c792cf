/**
 * Every failure in lwsx is an LwsxError subclass carrying a stable `code` (what a program matches
 * on) and, where it helps, `detail` naming the offending field, state or position.
 */
export class LwsxError extends Error {
  readonly code: string;
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, detail?: Record<string, unknown>, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = detail;
  }
}

/** Misuse of an API: a bad argument, a call out of order. */
export class UsageError extends LwsxError {}

/** Bytes or text that do not decode (UTF-8, serialisation bounds). */
export class DecodeError extends LwsxError {}
