/**
 * Packet Identifiers for what the client sends (PUBLISH QoS 1/2, SUBSCRIBE, UNSUBSCRIBE): one
 * namespace, 1..65535, the next one after the last handed out, wrapping, skipping ids still in
 * use. How many can be in use is bounded by the in-flight window and the pending requests, so
 * a search walks at most that many.
 */
import { MqttError } from './mqtt-error.js';

export class PacketIds {
  private last = 0;
  private readonly used = new Set<number>();

  /** The next free id; throws ERR_MQTT_PACKET_IDS_EXHAUSTED when all 65,535 are taken. */
  take(): number {
    if (this.used.size >= 0xffff) throw new MqttError('ERR_MQTT_PACKET_IDS_EXHAUSTED', 'every packet identifier is in use', undefined, 'client');
    let id = this.last;
    do id = id === 0xffff ? 1 : id + 1;
    while (this.used.has(id));
    this.used.add(id);
    this.last = id;
    return id;
  }

  release(id: number): void {
    this.used.delete(id);
  }
}
