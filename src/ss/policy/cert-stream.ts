/**
 * A certificate's base64 text, decoded to DER as it streams past in pieces (lws decodes with
 * lws_b64_decode_stateful into a MAX_CERT_TEMP buffer the same way): only the decoded bytes
 * are held, and no more than maxBytes of them.
 */
import { Base64Decoder } from '../../util/base64.js';
import { DecodeError } from '../../util/errors.js';
import { PolicyParseError } from './errors.js';
import type { PolicyReader } from './reader.js';

export class CertStream {
  private readonly b64 = new Base64Decoder();
  private readonly reader: PolicyReader;
  private readonly maxBytes: number;
  private parts: Uint8Array[] = [];
  private bytes = 0;

  constructor(reader: PolicyReader, maxBytes: number) {
    this.reader = reader;
    this.maxBytes = maxBytes;
  }

  begin(): void {
    this.b64.reset();
    this.parts = [];
    this.bytes = 0;
  }

  /** Decodes the next piece of text; on the final one returns the whole DER. */
  push(piece: string, final: boolean): Uint8Array | undefined {
    let bytes: Uint8Array;
    let tail: Uint8Array | undefined;
    try {
      bytes = this.b64.push(piece);
      if (final) tail = this.b64.end();
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      const d = e.detail as { offset: number; problem: string };
      const path = this.reader.path();
      throw new PolicyParseError(
        'ERR_POLICY_BASE64',
        `policy ${path}: invalid base64 at character ${d.offset}: ${d.problem}`,
        { path, expected: 'a base64 DER certificate', actual: d.problem, offset: d.offset, ...this.reader.lineCol() },
        e,
      );
    }
    this.add(bytes);
    if (tail) this.add(tail);
    return final ? this.finish() : undefined;
  }

  private add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.bytes += bytes.length;
    if (this.bytes > this.maxBytes) this.reader.fail('ERR_POLICY_CERT_TOO_BIG', `a certificate of at most ${this.maxBytes} bytes`);
    this.parts.push(bytes);
  }

  private finish(): Uint8Array {
    if (this.bytes === 0) this.reader.fail('ERR_POLICY_BASE64', 'a base64 DER certificate, not an empty string');
    const der = new Uint8Array(this.bytes);
    let o = 0;
    for (const p of this.parts) {
      der.set(p, o);
      o += p.length;
    }
    this.parts = [];
    return der;
  }
}
