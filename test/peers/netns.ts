/** The namespace pair lives with the simulator (its --netns mode uses it too); tests use the same one. */
export { createNetnsPair } from '../../hosts/node/sim/netns.js';
export type { Dnsmasq, DnsmasqOptions, Exec, NetnsPair } from '../../hosts/node/sim/netns.js';
