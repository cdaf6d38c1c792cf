/**
 * Globals the XS bench entries may find set before they run. A script (no import or export), so
 * these declare globals; the entries reference it with a triple-slash directive.
 */

/**
 * How many times an entry repeats its operation: test/xs/run-in-xs.mjs (`--iterations=N`, or
 * `LWSX_XS_ITERATIONS=N` in its environment) prepends `globalThis.LWSX_XS_ITERATIONS = N;` to the
 * bundle. Unset, each entry uses its own default.
 */
declare var LWSX_XS_ITERATIONS: number | undefined;
