/**
 * Topic names, topic filters and matching (§4.7), and 5.0 shared subscriptions (§4.8.2).
 *
 * A topic name is what a PUBLISH goes to: at least one character, no wildcards. A filter is
 * what a SUBSCRIBE asks for: levels split by '/', '+' standing for exactly one level and '#'
 * for any number of trailing levels (the parent level included), each wildcard occupying a
 * whole level, '#' only last. Topics starting with '$' are the server's own: a filter that
 * starts with a wildcard does not match them. Matching is done in place on the strings, with
 * no split and no allocation.
 */
import type { MqttVersion } from './packet.js';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

const SHARE_PREFIX = '$share/';

/** Non-empty, no '+', '#' or U+0000. */
export function isValidTopicName(topic: string): boolean {
  const n = topic.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH || c === 0) return false;
  }
  return true;
}

export interface SharedSubscription {
  /** the ShareName: the group the subscription is shared within */
  shareName: string;
  /** the plain filter the group subscribes to */
  filter: string;
}

/**
 * The parts of a 5.0 shared subscription `$share/{ShareName}/{filter}`, or undefined when
 * `filter` is not one (no `$share/` prefix, an empty or wildcard ShareName, no filter after it).
 */
export function splitShared(filter: string): SharedSubscription | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash <= SHARE_PREFIX.length || slash === filter.length - 1) return undefined;
  const shareName = filter.slice(SHARE_PREFIX.length, slash);
  if (shareName.includes('+') || shareName.includes('#')) return undefined;
  return { shareName, filter: filter.slice(slash + 1) };
}

/** True when filter `f` from index `start` to its end is a valid plain filter. */
function plainFilterValid(f: string, start: number): boolean {
  const n = f.length;
  if (start >= n) return false;
  let levelStart = start;
  for (let i = start; i < n; i++) {
    const c = f.charCodeAt(i);
    if (c === 0) return false;
    if (c === SLASH) {
      levelStart = i + 1;
      continue;
    }
    if (c === PLUS || c === HASH) {
      // a wildcard must be its whole level; '#' must also be the last level
      const next = i + 1 < n ? f.charCodeAt(i + 1) : SLASH;
      if (i !== levelStart || next !== SLASH) return false;
      if (c === HASH && i !== n - 1) return false;
    }
  }
  return true;
}

/**
 * A valid subscription filter. Under 5.0 (the default) a filter starting `$share/` must be a
 * well-formed shared subscription; 3.1.1 has none and takes it as an ordinary filter.
 */
export function isValidTopicFilter(filter: string, version: MqttVersion = 5): boolean {
  if (version === 5 && filter.startsWith(SHARE_PREFIX)) {
    const shared = splitShared(filter);
    return shared !== undefined && plainFilterValid(shared.filter, 0);
  }
  return plainFilterValid(filter, 0);
}

/**
 * Whether a valid plain filter (for a shared subscription, the `filter` part from splitShared)
 * matches a valid topic name.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  if (tl > 0 && topic.charCodeAt(0) === DOLLAR && fl > 0) {
    const c = filter.charCodeAt(0);
    if (c === PLUS || c === HASH) return false;
  }
  let f = 0;
  let t = 0;
  for (;;) {
    // f and t are each at the start of a level
    const c = f < fl ? filter.charCodeAt(f) : -1;
    if (c === HASH) return true;
    if (c === PLUS) {
      f++;
      while (t < tl && topic.charCodeAt(t) !== SLASH) t++;
    } else {
      while (f < fl && t < tl) {
        const x = filter.charCodeAt(f);
        if (x === SLASH || x !== topic.charCodeAt(t)) break;
        f++;
        t++;
      }
      const filterLevelDone = f === fl || filter.charCodeAt(f) === SLASH;
      const topicLevelDone = t === tl || topic.charCodeAt(t) === SLASH;
      if (!filterLevelDone || !topicLevelDone) return false;
    }
    if (f === fl) return t === tl;
    // the filter has another level: "/#" also matches the parent level
    if (t === tl) return f + 2 === fl && filter.charCodeAt(f + 1) === HASH;
    f++;
    t++;
  }
}
