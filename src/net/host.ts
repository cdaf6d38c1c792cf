/**
 * What a host gives the engine-neutral core. Shaped after ECMA-419 (TC53 IO Class Pattern):
 * sockets are constructed from an options bag holding their callbacks, reads and writes never
 * block, and `onReadable`/`onWritable` report how many bytes (or datagrams, or connections) are
 * ready. Types only: `hosts/node` and `hosts/xs` implement it.
 */

import type { MessageDeflater } from '../protocols/ws/deflater.js';
import type { DeflateParams } from '../protocols/ws/extensions.js';

export type Bytes = ArrayBuffer | ArrayBufferView;

export interface SocketCallbacks {
  /** `count` bytes (TCP), datagrams (UDP) or pending connections (Listener) can be read. */
  onReadable?(count: number): void;
  /** `count` bytes can be written without buffering; also signals a completed connect. */
  onWritable?(count: number): void;
  /** The socket failed or the peer closed it; it is unusable afterwards. */
  onError?(error?: Error): void;
}

export interface TcpOptions extends SocketCallbacks {
  address?: string;
  host?: string;
  port: number;
  nodelay?: boolean;
}

export interface TlsOptions extends TcpOptions {
  /** SNI and name to verify; defaults to host */
  servername?: string;
  alpn?: readonly string[];
  /**
   * DER certificates (CAs, or a server's own certificate) to trust besides the host's built-in
   * store, as lws_tls_client_vhost_extra_cert_mem adds to the vhost's store and Moddable's
   * `secure.certificate` adds to its own. Use `verify: false` and no `trust` only for tests.
   */
  trust?: readonly Uint8Array[];
  /**
   * The certificate to present when the server asks for one (DER, or PEM possibly holding a
   * chain, leaf first), with its key in `clientKey`. Through a wsi, a connection given neither
   * presents the Context's CLIENT_CERT_DER / CLIENT_KEY_DER blobs when both are set, as lws does
   * (src/net/tls-client-creds.ts).
   */
  clientCert?: TlsCredential;
  /** the client certificate's private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), DER or PEM, unencrypted */
  clientKey?: TlsCredential;
  /** default true */
  verify?: boolean;
}

/**
 * A certificate or key for a TLS server: DER bytes, or PEM (as text, or as its bytes). Keys are
 * PKCS#8, PKCS#1 (RSA) or SEC1 (EC), unencrypted.
 */
export type TlsCredential = Bytes | string;

/** What makes a Listener a TLS server. Every accepted connection is then a TLS stream. */
export interface ListenTlsOptions {
  /** the server certificate; a chain as a list, leaf first (one PEM text may hold the chain) */
  cert: TlsCredential | readonly TlsCredential[];
  /** the certificate's private key */
  key: TlsCredential;
  /**
   * protocols the server speaks, in its order of preference: the first of these the client also
   * offers is chosen; a client offering ALPN but none of these is refused (RFC 7301 §3.2)
   */
  alpn?: readonly string[];
  /**
   * Ask every client for a certificate and refuse the handshake unless it presents one that
   * chains to `trust` (which is then required: client certificates are checked against `trust`
   * only, never the public store)
   */
  requestClientCert?: boolean;
  /** DER CA certificates that client certificates must chain to */
  trust?: readonly Uint8Array[];
}

export interface ListenOptions {
  address?: string;
  port?: number;
  /**
   * Serve TLS. The listener still hands out connections with read() then adopt(callbacks); the
   * adopted stream's onWritable comes once its handshake is done, and a client whose handshake
   * fails never reaches read() nor harms the listener.
   */
  tls?: ListenTlsOptions;
  onReadable(count: number): void;
  /** the listener failed (e.g. the port is taken); it is unusable afterwards */
  onError?(error?: Error): void;
}

export interface UdpOptions extends SocketCallbacks {
  address?: string;
  port?: number;
  broadcast?: boolean;
}

/** A connected stream socket (plain or TLS). */
export interface TCP {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /**
   * TLS only: the application protocol the handshake agreed on (ALPN, RFC 7301), on the client
   * what the server chose from our `alpn`, on the server what it chose from the client's offer;
   * undefined for plain TCP, when no protocol was agreed, or before the first onWritable.
   */
  readonly alpn?: string | undefined;
  /** Up to `max` bytes, or undefined when nothing is buffered. */
  read(max?: number): ArrayBuffer | undefined;
  /** Queues the bytes; returns how many more bytes may be written before writes should pause. */
  write(data: Bytes): number;
  close(): void;
}

export interface Listener {
  readonly port: number;
  /** A connected socket; give it callbacks with `adopt`. undefined when none is pending. */
  read(): AcceptedTCP | undefined;
  close(): void;
}

/** A connection accepted by a Listener, waiting for its callbacks. */
export interface AcceptedTCP {
  adopt(callbacks: SocketCallbacks): TCP;
}

export interface Datagram {
  data: ArrayBuffer;
  address: string;
  port: number;
}

export interface UDP {
  readonly port: number;
  read(): Datagram | undefined;
  write(data: Bytes, address: string, port: number): void;
  close(): void;
}

export interface NetIfAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  prefixLength: number;
}

export interface NetIf {
  name: string;
  /** "aa:bb:cc:dd:ee:ff" */
  mac: string;
  up: boolean;
  addresses: NetIfAddress[];
}

export interface Host {
  /** Name of the host implementation, for logs ("node", "xs"). */
  readonly name: string;
  /** Monotonic clock, µs. Never steps. */
  nowUs(): number;
  /** Wall clock, unix epoch µs, as the platform knows it. */
  wallUs(): number;
  /** Arms the host's single timer for the earliest sul deadline (monotonic µs); undefined disarms. */
  setWakeTimer(atUs: number | undefined): void;
  /** Sets what the loop runs when the wake timer fires or wakeup() is called. */
  setLoopRunner(run: () => void): void;
  /** Safe from any thread: the loop runs soon after (a datagram on a loopback UDP pair). */
  wakeup(): void;
  /**
   * Where another thread sends any datagram to wake this loop: the loop end of the UDP pair.
   * A worker cannot hold the Host, so it gets this address (see src/system/attach.ts).
   */
  wakeTarget(): { address: string; port: number };
  /** Fills `into` with entropy. */
  random(into: Uint8Array): void;
  tcp(opts: TcpOptions): TCP;
  listener(opts: ListenOptions): Listener;
  udp(opts: UdpOptions): UDP;
  tls?(opts: TlsOptions): TCP;
  interfaces(): NetIf[];
  /**
   * A permessage-deflate implementation for one WebSocket (hosts/common on both); absent: the
   * host cannot compress, and WebSockets do not offer or accept the extension.
   */
  deflater?(params: DeflateParams, role: 'client' | 'server'): MessageDeflater;
  /** Releases the wake timer and wakeup sockets; the loop will not run again. */
  close(): void;
}
