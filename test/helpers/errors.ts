/** The code of the UsageError `fn` throws, or undefined when it does not throw. */
import { expect } from '@jest/globals';
import { UsageError } from '../../src/util/errors.js';

export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as UsageError).code;
  }
  return undefined;
}
