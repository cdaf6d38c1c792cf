/**
 * lws_system_ops: what a board does for the core. Every op is optional; the core checks before
 * calling and reports an absent op in a typed way where the caller needed it.
 */
import type { NetIfAddress } from '../net/host.js';

/** What libwebsockets calls lws_cpd_result_t. */
export const CpdResult = { UNKNOWN: 0, INTERNET_OK: 1, CAPTIVE_PORTAL: 2, NO_INTERNET: 3 } as const;
export type CpdResult = (typeof CpdResult)[keyof typeof CpdResult];

/** A metric's published summary (lws_metric_pub_t, reduced to what a board reports upstream). */
export interface MetricPub {
  name: string;
  /** "event" (go / no-go counts) or "histogram" */
  kind: 'event' | 'histogram';
  count: number;
  sum: number;
  min: number;
  max: number;
  fields?: Record<string, string | number>;
}

/** An address configuration for one interface, as DHCP or a static board file gives it. */
export interface InterfaceConfig {
  name: string;
  address: NetIfAddress;
  router?: string;
  dns?: string[];
  ntp?: string[];
  leaseSecs?: number;
}

/** A queued "call me on the loop once the system reaches `state`" (lws_attach_item). */
export interface AttachRequest {
  state: number;
  cb: () => void;
}

export interface SystemOps {
  /** Restart the device. */
  reboot?(): void;
  /** Set the wall clock to unix µs. */
  setClock?(wallUs: number): void;
  /**
   * The wall clock the core should use, if the board keeps its own (a board that may not touch
   * the platform clock keeps an offset that setClock adjusts).
   */
  wallUs?(): number;
  /**
   * Platform locking around the core's attach queue, as lws's ops->attach wraps
   * __lws_system_attach(). `enqueue` does the work; call it inside your lock. Without this op
   * the core enqueues directly (on the loop thread; other threads use the attach mailbox).
   */
  attach?(req: AttachRequest, enqueue: (req: AttachRequest) => void): void;
  /** Start captive portal detection; call `report` with the result when it is known. */
  captivePortalDetectRequest?(report: (result: CpdResult) => void): void;
  /** Publish a metric; return true to reset it. */
  metricReport?(metric: MetricPub): boolean;
  /** Apply an address configuration to an interface. */
  configureInterface?(cfg: InterfaceConfig): void;
  /** Take an interface's address away (its lease expired, was refused or released). */
  deconfigureInterface?(name: string): void;
  /** µs the device needs to wake from suspend; sul wake timers fire this much early. */
  wakeLatencyUs?: number;
}
