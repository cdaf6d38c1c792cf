/**
 * `npm start -- --netns` (root): the simulated device boots inside a network namespace of its
 * own, against real peers in a second one — dnsmasq for DHCP and DNS (the zone lws.test, with
 * ntp.lws.test at the server), chrony for NTP. The simulator re-runs itself in the client
 * namespace with `--network dhcp`, so DHCP, DNS and SNTP all go over a real wire: SNTP uses the
 * NTP server the lease names, or, given `--ntp-server ntp.lws.test`, finds it through the DNS
 * server the lease names. Everything is torn down when the device exits.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, createNetnsPair } from './netns.js';

/** Runs the simulator (this script, with `args`) in the client namespace; resolves with its exit code. */
export async function runInNetns(script: string, args: string[]): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('lwsx: error ERR_NETNS_ROOT: --netns needs root (it creates network namespaces)');
    return 2;
  }
  const pair = createNetnsPair('sim');
  try {
    await pair.startDnsmasq({ range: [100, 150], lease: '1h', extra: [`--host-record=ntp.lws.test,${pair.serverIp}`] });
    const conf = join(pair.dir, 'chrony.conf');
    writeFileSync(
      conf,
      [
        'port 123',
        `bindaddress ${pair.serverIp}`,
        `allow ${pair.net}.0/24`,
        'local stratum 8',
        'cmdport 0',
        `pidfile ${join(pair.dir, 'chronyd.pid')}`,
        `driftfile ${join(pair.dir, 'chrony.drift')}`,
        '',
      ].join('\n'),
    );
    // -x: never touch this machine's clock
    pair.spawnSrv(bin('chronyd'), ['-d', '-x', '-u', 'root', '-f', conf]);
    console.log(`lwsx: netns ${pair.cli} (${pair.cliIf}) ⇄ ${pair.srv} (${pair.serverIp}: dnsmasq DHCP+DNS, chrony NTP)`);
    const child = pair.spawnCli(process.execPath, [
      '--enable-source-maps',
      script,
      ...args,
      '--network',
      'dhcp',
      '--ifname',
      pair.cliIf,
    ]);
    child.stdout?.pipe(process.stdout);
    child.stderr?.pipe(process.stderr);
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    return code;
  } finally {
    await pair.destroy();
  }
}
