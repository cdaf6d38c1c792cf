/**
 * What the connection needs from a permessage-deflate (RFC 7692) implementation. The
 * compression itself lives outside the core so each host picks its own (both hosts use
 * hosts/common/ws-deflater.ts); the connection only sets and checks RSV1 and enforces the
 * limits.
 *
 * Synchronous on purpose: the machine is sans-IO and answers within `receive`. An
 * implementation is built for one connection from the negotiated DeflateParams and its role,
 * and honours the window size and no_context_takeover flag that apply to each direction.
 */
export interface MessageDeflater {
  /**
   * Compresses the next piece of an outgoing message, carrying on from the pieces before it
   * (and, with context takeover, from earlier messages). Each piece ends with a sync flush so
   * it can go out as a frame at once; on the message's `final` piece the flush's trailing
   * 00 00 FF FF is left off (RFC 7692 §7.2.1). A whole message is one final piece.
   */
  compress(data: Uint8Array, final: boolean): Uint8Array;
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
