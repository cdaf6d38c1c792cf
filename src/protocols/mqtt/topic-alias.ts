/**
 * MQTT 5.0 topic aliases (§3.3.2.3.4), both directions, each valid for one connection only.
 *
 * Outgoing: the server's Topic Alias Maximum bounds how many we may define. A topic gets an
 * alias the first time it is published (sent with its name, to define it) and is sent as the
 * alias alone afterwards; once all are taken, the least recently used alias is redefined for
 * the new topic (a Map keeps insertion order, and a use moves its topic to the end).
 *
 * Incoming: what the server defined, up to our own Topic Alias Maximum.
 */
export class OutgoingTopicAliases {
  private max = 0;
  private readonly byTopic = new Map<string, number>();
  /** whether the alias the last assign() returned was already defined on this connection */
  known = false;

  /** A new connection: nothing is defined; `max` is the server's Topic Alias Maximum (0: none). */
  reset(max: number): void {
    this.max = max;
    this.byTopic.clear();
  }

  /** The alias to send `topic` with (0: none), `known` saying whether the name can be left off. */
  assign(topic: string): number {
    if (this.max === 0) return 0;
    const m = this.byTopic;
    let alias = m.get(topic);
    if (alias !== undefined) {
      this.known = true;
      if (m.size > 1) {
        m.delete(topic);
        m.set(topic, alias);
      }
      return alias;
    }
    this.known = false;
    if (m.size < this.max) alias = m.size + 1;
    else {
      const [oldest, a] = m.entries().next().value as [string, number];
      m.delete(oldest);
      alias = a;
    }
    m.set(topic, alias);
    return alias;
  }
}

export class IncomingTopicAliases {
  readonly max: number;
  private readonly topics = new Map<number, string>();

  constructor(max: number) {
    this.max = max;
  }

  reset(): void {
    this.topics.clear();
  }

  /** Records a definition; false when the alias is outside 1..max (Topic Alias invalid). */
  define(alias: number, topic: string): boolean {
    if (alias < 1 || alias > this.max) return false;
    this.topics.set(alias, topic);
    return true;
  }

  /** The topic an alias stands for, undefined when it was never defined on this connection. */
  resolve(alias: number): string | undefined {
    return this.topics.get(alias);
  }
}
