/**
 * Reading one JSON scalar as the policy wants it — a string, an integer in a C type's range, a
 * boolean — and refusing anything else with a PolicyParseError at the tokenizer's current path,
 * line and column. Also collects the warnings of a parse.
 */
import type { PolicyErrorCode, PolicyWarning } from './errors.js';
import { PolicyParseError } from './errors.js';
import type { JsonStream } from './json-stream.js';
import type { JsonValue } from './policy.js';

/** Kinds of JSON scalar, as the tokenizer delivers them. */
export const T_STRING = 0;
export const T_NUMBER = 1;
export const T_BOOL = 2;
export const T_NULL = 3;
/** A string's text, a number's JSON text, a boolean, or null. */
export type Scalar = string | boolean | null;

const INTEGER_RE = /^-?[0-9]+$/;

export function isIntegerText(s: string): boolean {
  return INTEGER_RE.test(s);
}

/** How a scalar reads in an error message. */
export function describe(t: number, v: Scalar): string {
  if (t === T_STRING) return `the string ${JSON.stringify(v)}`;
  if (t === T_NUMBER) return `the number ${v as string}`;
  return String(v);
}

/** The JSON value of a scalar, as kept for unknown keys. */
export function scalarValue(t: number, v: Scalar): JsonValue {
  return t === T_NUMBER ? Number(v) : v;
}

export class PolicyReader {
  readonly warnings: PolicyWarning[] = [];
  private readonly tok: JsonStream;

  constructor(tok: JsonStream) {
    this.tok = tok;
  }

  path(): string {
    return this.tok.path();
  }

  str(t: number, v: Scalar, expected = 'a string'): string {
    if (t !== T_STRING) this.typeError(expected, describe(t, v));
    return v as string;
  }

  /** An integer min..max written as one (lws atoi()s "4.43e2" to 4; here it is refused). */
  uint(t: number, v: Scalar, min: number, max: number): number {
    const expected = `an integer ${min}..${max}`;
    if (t !== T_NUMBER || !INTEGER_RE.test(v as string)) this.typeError(expected, describe(t, v));
    const n = Number(v) + 0; // + 0 turns -0 into 0
    if (n < min || n > max) this.fail('ERR_POLICY_RANGE', expected, n);
    return n;
  }

  /**
   * As lws reads a boolean key: only the JSON token `true` counts (`reason == LEJPCB_VAL_TRUE`),
   * so `false` and the numbers 0 and 1 (which lws' own example policies write) all read as false;
   * a number also gets a warning, as it is almost certainly not what the author meant. Other
   * values are refused. `flag`: the key can only set its flag, so false leaves it as it was.
   */
  bool(t: number, v: Scalar, flag: boolean): boolean {
    if (t === T_BOOL) return v as boolean;
    if (t === T_NUMBER && (v === '0' || v === '1')) {
      this.warn(
        'WARN_POLICY_NUMERIC_BOOLEAN',
        this.tok.path(),
        `${v as string} used as a boolean: as lws, only the JSON token true counts, so ${flag ? 'the flag is left as it was' : 'this is false'}`,
      );
      return false;
    }
    return this.typeError('true or false', describe(t, v));
  }

  /** Names of entries may not be empty. */
  name(name: string): void {
    if (name.length === 0) this.fail('ERR_POLICY_NAME', 'a non-empty name', name);
  }

  warnUnknown(): void {
    const path = this.tok.path();
    this.warn('WARN_POLICY_UNKNOWN_KEY', path, `unknown key ${path} kept but not used by lwsx`);
  }

  warn(code: PolicyWarning['code'], path: string, message: string): void {
    this.warnings.push(Object.freeze({ code, path, message }));
  }

  /** Where the offending token starts (not where the tokenizer has got to). */
  lineCol(): { line: number; column: number } {
    const p = this.tok.tokenPosition();
    return { line: p.line, column: p.column };
  }

  typeError(expected: string, actual: string): never {
    this.fail('ERR_POLICY_TYPE', expected, actual);
  }

  fail(code: PolicyErrorCode, expected: string, actual?: unknown, path = this.tok.path()): never {
    const got = actual === undefined ? '' : `, got ${typeof actual === 'string' && code !== 'ERR_POLICY_TYPE' ? JSON.stringify(actual) : String(actual)}`;
    throw new PolicyParseError(code, `policy ${path}: expected ${expected}${got}`, {
      path,
      expected,
      ...(actual === undefined ? {} : { actual }),
      ...this.lineCol(),
    });
  }
}
