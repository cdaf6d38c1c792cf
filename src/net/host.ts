/**
 * What a host gives the engine-neutral core. Shaped after ECMA-419 (TC53 IO Class Pattern):
 * sockets are constructed from an options bag holding their callbacks, reads and writes never
 * block, and `onReadable`/`onWritable` report how many bytes (or datagrams, or connections) are
 * ready. Types only: `hosts/node` and `hosts/xs` implement it.
 */

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
  /** DER certificates to trust instead of the system store (lws_tls_client_vhost_extra_cert_mem) */
  trust?: readonly Uint8Array[];
  clientCertDer?: Uint8Array;
  clientKeyDer?: Uint8Array;
  /** default true */
  verify?: boolean;
}

export interface ListenOptions {
  address?: string;
  port?: number;
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
  /** Releases the wake timer and wakeup sockets; the loop will not run again. */
  close(): void;
}
