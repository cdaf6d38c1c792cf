/** Secure Streams policy: parse, validate, overlay, expand `${metadata}`, serialize. */

export * from './errors.js';
export * from './policy.js';
export { PolicyParser, parsePolicy } from './parser.js';
export type { PolicyInput, PolicyParserOptions } from './parser.js';
export { applyOverlay } from './overlay.js';
export { MetadataExpander, createMetadataExpander, expandMetadata } from './metadata.js';
export type { MetadataValues } from './metadata.js';
export { policyToJson, serializePolicy } from './serialize.js';
export type { SerializeOptions } from './serialize.js';
export { JsonStream, JsonSyntaxError } from './json-stream.js';
export type { JsonSink, JsonStreamOptions } from './json-stream.js';
export { STREAMTYPE_KEYS } from './keys.js';
