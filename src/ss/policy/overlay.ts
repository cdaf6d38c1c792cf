/**
 * Policy overlays, as lws_ss_policy_overlay(): a second JSON document, shaped like a policy,
 * applied over a parsed one — typically to point a streamtype elsewhere for a test or a captive
 * portal (`{ "s": [{ "captive_portal_detect": { "endpoint": "google.com", "port": 80 } }] }`).
 *
 * Semantics, after lws' parser with its `overlay` flag:
 * - a streamtype the policy already has is changed key by key, everything else kept; a flag key
 *   still only sets (an overlay cannot clear `tls`), assigned booleans may go false; `metadata`
 *   adds names (or gives a declared one a new header), `http_resp_map` and `plugins` replace;
 * - a streamtype the policy lacks is added, as in a policy;
 * - references resolve against the base policy as well as the overlay (lws resolves only
 *   within the overlay document, so there `"retry": "default"` in an overlay fails);
 * - retry, certs, trust_stores, metrics and auth entries are added; redefining one is
 *   ERR_POLICY_DUPLICATE (lws: "currently ONLY streamtypes may be overridden");
 * - release, product, schema-version and via-socks5 replace the base's when given; unknown
 *   top-level keys are added to `extra`.
 * The result is a new frozen Policy; the base is untouched. Its `warnings` are the overlay's.
 */
import { parsePolicy } from './parser.js';
import type { PolicyInput, PolicyParserOptions } from './parser.js';
import type { Policy } from './policy.js';

export function applyOverlay(policy: Policy, overlay: PolicyInput, opts: Omit<PolicyParserOptions, 'base'> = {}): Policy {
  return parsePolicy(overlay, { ...opts, base: policy });
}
