/** Reports a result (or the error that stopped it) to the xsnap parent, exactly once. */
import { utf8Encode } from '../../src/util/utf8.js';

declare const issueCommand: ((msg: ArrayBuffer) => ArrayBuffer) | undefined;

export function reportToHost(run: () => Promise<unknown> | unknown): void {
  if (typeof issueCommand !== 'function') return; // imported under Node: nothing to report to
  const send = (v: unknown): void => {
    const bytes = utf8Encode(JSON.stringify(v));
    (issueCommand as (m: ArrayBuffer) => ArrayBuffer)(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  };
  Promise.resolve()
    .then(run)
    .then(
      (result) => send(result),
      (e: unknown) => send({ error: String(e), stack: (e as Error)?.stack }),
    );
}
