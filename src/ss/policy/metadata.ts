/**
 * `${name}` expansion in policy strings (endpoint, http_url, mqtt topics), lws' lws_strexp rules:
 * - `${name}` becomes the stream's current value of metadata `name`, as is (no escaping added);
 * - `name` must be declared by the streamtype, and is at most 31 characters (lws' name[32]);
 * - a declared name with no value set expands to nothing;
 * - `$` not followed by `{` is literal, including a `$` that ends the template (lws drops a
 *   final `$`; here it stays, as the rule says);
 * - `$$` is one literal `$` and a second `$` that may still open a reference;
 * - an unterminated `${...` at the end is swallowed.
 *
 * MetadataExpander takes the template in chunks and returns the output as far as it is known,
 * so neither a long template nor its output has to be held whole.
 */
import { MetadataError } from './errors.js';
import { METADATA_NAME_MAX } from './keys.js';
import type { Streamtype } from './policy.js';

export type MetadataValues = Readonly<Record<string, string | undefined>> | ReadonlyMap<string, string | undefined>;

const LITERAL = 0;
const DOLLAR = 1;
const NAME = 2;

export class MetadataExpander {
  private readonly declared: (name: string) => boolean;
  private readonly value: (name: string) => string | undefined;
  private state = LITERAL;
  private name = '';
  /** template characters consumed before the current chunk; where the open reference's `$` was */
  private seen = 0;
  private refAt = 0;

  constructor(declared: (name: string) => boolean, value: (name: string) => string | undefined) {
    this.declared = declared;
    this.value = value;
  }

  /** Expands the next piece of the template; returns the output it completes. */
  write(chunk: string): string {
    let out = '';
    let lit = 0; // start of the pending literal run in `chunk`
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (this.state === LITERAL) {
        if (c === 0x24) {
          out += chunk.slice(lit, i);
          this.state = DOLLAR;
          this.refAt = this.seen + i;
        }
        continue;
      }
      if (this.state === DOLLAR) {
        if (c === 0x7b) {
          this.state = NAME;
          this.name = '';
        } else if (c === 0x24) {
          out += '$';
          this.refAt = this.seen + i;
        } else {
          out += '$';
          this.state = LITERAL;
          lit = i;
        }
        continue;
      }
      // NAME
      if (c === 0x7d) {
        out += this.resolve();
        this.state = LITERAL;
        lit = i + 1;
        continue;
      }
      if (this.name.length >= METADATA_NAME_MAX) {
        throw new MetadataError(
          'ERR_METADATA_NAME_TOO_LONG',
          `metadata name "${this.name}..." at ${this.refAt} is longer than ${METADATA_NAME_MAX} characters`,
          this.name,
          this.refAt,
        );
      }
      this.name += chunk[i];
    }
    if (this.state === LITERAL) out += chunk.slice(lit);
    this.seen += n;
    return out;
  }

  /** The template is complete: flushes a trailing `$`; an unterminated `${` is dropped. */
  end(): string {
    const out = this.state === DOLLAR ? '$' : '';
    this.state = LITERAL;
    this.name = '';
    this.seen = 0;
    return out;
  }

  private resolve(): string {
    const name = this.name;
    if (!this.declared(name)) {
      throw new MetadataError('ERR_METADATA_UNDECLARED', `metadata "${name}" at ${this.refAt} is not declared`, name, this.refAt);
    }
    return this.value(name) ?? '';
  }
}

function lookup(values: MetadataValues): (name: string) => string | undefined {
  if (values instanceof Map) return (n) => values.get(n);
  const rec = values as Readonly<Record<string, string | undefined>>;
  return (n) => (Object.prototype.hasOwnProperty.call(rec, n) ? rec[n] : undefined);
}

function declaredBy(st: Pick<Streamtype, 'metadata'>): (name: string) => boolean {
  return (n) => st.metadata.some((m) => m.name === n);
}

/** An expander for `streamtype`'s templates, reading values from `values`. */
export function createMetadataExpander(st: Pick<Streamtype, 'metadata'>, values: MetadataValues): MetadataExpander {
  return new MetadataExpander(declaredBy(st), lookup(values));
}

/** Expands a whole template. */
export function expandMetadata(template: string, st: Pick<Streamtype, 'metadata'>, values: MetadataValues): string {
  const x = createMetadataExpander(st, values);
  return x.write(template) + x.end();
}
