/**
 * Typed errors of the Secure Streams policy. Every refusal carries a stable `code` (one per rule,
 * listed below), the JSON `path` of the offending value (`s[3].mqtt_ws.port`, `$` for the root)
 * and what was `expected`; malformed JSON adds the `line` and `column` (1-based, in characters).
 *
 * A policy is bad input, so these are DecodeErrors: the PolicyLoadNotifier passes any LwsxError
 * through to the board unchanged.
 */
import { DecodeError, LwsxError } from '../../util/errors.js';

export type PolicyErrorCode =
  /** not JSON: a syntax error, a truncated document, nesting too deep, a key or number too long */
  | 'ERR_POLICY_JSON'
  /** a value of the wrong JSON type (a string where a port belongs, an object for a flag...) */
  | 'ERR_POLICY_TYPE'
  /** a number outside the range lws stores it in (port 1..65535, QoS 0..2, jitterpc 0..255...) */
  | 'ERR_POLICY_RANGE'
  /** a protocol name other than h1, h2, h3, ws, mqtt, raw */
  | 'ERR_POLICY_PROTOCOL'
  /** a name used before (or without) its definition: retry, trust store, cert, auth */
  | 'ERR_POLICY_UNDEFINED_REF'
  /** a second definition of a streamtype, retry, cert, trust store, metric, auth or metadata name */
  | 'ERR_POLICY_DUPLICATE'
  /** a certificate that is not valid base64 (or is empty) */
  | 'ERR_POLICY_BASE64'
  /** a certificate larger than the parser's maxCertBytes */
  | 'ERR_POLICY_CERT_TOO_BIG'
  /** a trust store stack of more than 6 certificates (lws_ss_trust_store_t.ssx509[6]) */
  | 'ERR_POLICY_TRUST_STORE_FULL'
  /** a trust store stack with no certificate (lws: "at least one cert required") */
  | 'ERR_POLICY_TRUST_STORE_EMPTY'
  /** a backoff table of more than 8 delays (lws' retry_ms_table is 8 long) */
  | 'ERR_POLICY_BACKOFF_TOO_LONG'
  /** more http_resp_map entries than lws' 16 */
  | 'ERR_POLICY_TOO_MANY'
  /** a mandatory member missing: a retry's backoff, a trust store's or auth's or metric's name */
  | 'ERR_POLICY_REQUIRED'
  /** an empty name, or a metadata name longer than 31 characters (lws_strexp's name[32]) */
  | 'ERR_POLICY_NAME'
  /** a string longer than the parser's maxStringLength (metadata values: 255) */
  | 'ERR_POLICY_STRING_TOO_LONG'
  /** `${name}` in endpoint, http_url or an mqtt topic naming metadata the streamtype lacks */
  | 'ERR_POLICY_METADATA_UNDECLARED';

export interface PolicyErrorDetail {
  /** JSON path of the offending value; `$` is the document itself */
  path: string;
  /** what the policy format wants there */
  expected: string;
  /** what was found, when it helps */
  actual?: unknown;
  line?: number;
  column?: number;
  /** character offset in the document (JSON errors) or in the certificate text (base64) */
  offset?: number;
}

export class PolicyParseError extends DecodeError {
  declare readonly code: PolicyErrorCode;
  readonly path: string;
  readonly expected: string;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: PolicyErrorCode, message: string, detail: PolicyErrorDetail, cause?: unknown) {
    super(code, message, { ...detail }, cause);
    this.path = detail.path;
    this.expected = detail.expected;
    this.line = detail.line;
    this.column = detail.column;
  }
}

/** A `${name}` template could not be expanded (see metadata.ts). */
export type MetadataErrorCode = 'ERR_METADATA_NAME_TOO_LONG' | 'ERR_METADATA_UNDECLARED';

export class MetadataError extends LwsxError {
  declare readonly code: MetadataErrorCode;
  /** the name (as far as it was read) and the character offset of its `$` in the template */
  declare readonly detail: Readonly<{ name: string; offset: number }>;

  constructor(code: MetadataErrorCode, message: string, name: string, offset: number) {
    super(code, message, { name, offset });
  }
}

/** Warnings do not stop a policy loading: they list what lwsx kept but does not act on. */
export interface PolicyWarning {
  readonly code: 'WARN_POLICY_UNKNOWN_KEY' | 'WARN_POLICY_NUMERIC_BOOLEAN' | 'WARN_POLICY_PLUGINS';
  readonly path: string;
  readonly message: string;
}
