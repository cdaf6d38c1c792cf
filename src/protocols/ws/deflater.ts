/**
 * What the connection needs from a permessage-deflate (RFC 7692) implementation. The
 * compression itself lives outside the core so each host picks its own (fflate on XS,
 * node:zlib on Node); the connection only sets and checks RSV1 and enforces the limits.
 *
 * Synchronous on purpose: the machine is sans-IO and answers within `receive`. An
 * implementation is built for one connection from the negotiated DeflateParams and its role,
 * and honours the no_context_takeover flag that applies to each direction.
 */
export interface MessageDeflater {
  /**
   * Compresses one whole outgoing message. Returns the DEFLATE data flushed with an empty
   * stored block and with its trailing 00 00 FF FF removed (RFC 7692 §7.2.1).
   */
  compress(data: Uint8Array): Uint8Array;
  /**
   * Inflates the payload of one frame of a compressed message; `final` marks the message's
   * last frame, after which the implementation appends 00 00 FF FF itself (§7.2.2) and, with
   * no context takeover for the peer, resets its window. May return fewer bytes than it will
   * eventually produce (even none) until `final`.
   *
   * Returns undefined as soon as the output of this call would pass `maxOutput` bytes: the
   * connection then refuses the message with 1009 without inflating the rest. Throws on data
   * that does not inflate (the connection fails with 1007).
   */
  decompress(data: Uint8Array, final: boolean, maxOutput: number): Uint8Array | undefined;
}
