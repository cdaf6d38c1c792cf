/**
 * The mosquitto launcher itself (test/peers/mosquitto.ts), checked with mosquitto's own clients
 * before any lwsx code talks to it: every listener kind answers, a retained message survives
 * SIGKILL + restart with persistence, and SIGSTOP leaves the port open but silent.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { requirePeers } from '../peers/peers.js';
import { startMosquitto } from '../peers/mosquitto.js';
import type { Mosquitto } from '../peers/mosquitto.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';

const run = promisify(execFile);
const { peerTest } = requirePeers('mosquitto launcher', ['mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'openssl']);

describe('mosquitto launcher', () => {
  let pki: Pki;
  let broker: Mosquitto;

  beforeAll(async () => {
    if (!requirePeers('mosquitto launcher', ['mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'openssl']).ok) return;
    pki = await makePki();
    broker = await startMosquitto({ pki, tls: true, mtls: true, ws: true, wss: true, persistence: true });
  }, 30_000);

  afterAll(async () => {
    await broker?.stop();
    pki?.cleanup();
  });

  /** publishes a retained message with mosquitto_pub, reads it back with mosquitto_sub */
  async function roundTrip(args: string[], topic: string, text: string): Promise<string> {
    await run('mosquitto_pub', [...args, '-t', topic, '-m', text, '-r', '-q', '1']);
    const { stdout } = await run('mosquitto_sub', [...args, '-t', topic, '-C', '1', '-W', '5']);
    return stdout.trim();
  }

  peerTest('plain, TLS, mutual TLS, WebSocket and secure WebSocket listeners all carry messages', async () => {
    const p = broker.ports;
    const tls = ['--cafile', pki.ca.certFile];
    const client = ['--cert', pki.client.certFile, '--key', pki.client.keyFile];
    expect(await roundTrip(['-h', '127.0.0.1', '-p', String(p.plain)], 'l/plain', 'a')).toBe('a');
    expect(await roundTrip(['-h', 'localhost', '-p', String(p.tls), ...tls], 'l/tls', 'b')).toBe('b');
    expect(await roundTrip(['-h', 'localhost', '-p', String(p.mtls), ...tls, ...client], 'l/mtls', 'c')).toBe('c');
    // mosquitto-clients 2.0.11 have no WebSocket transport: a raw upgrade proves the ws listeners
    for (const port of [p.ws!]) {
      const head = await new Promise<string>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () =>
          s.write(`GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`));
        s.once('data', (d) => { s.destroy(); resolve(d.toString()); });
        s.once('error', reject);
      });
      expect(head).toMatch(/^HTTP\/1\.1 101/);
    }
    // without a client certificate the mutual-TLS listener refuses
    await expect(run('mosquitto_pub', ['-h', 'localhost', '-p', String(p.mtls), ...tls, '-t', 'x', '-m', 'x'])).rejects.toThrow();
  }, 30_000);

  peerTest('a retained message survives SIGKILL and restart with persistence', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(broker.ports.plain)];
    await run('mosquitto_pub', [...args, '-t', 'l/keep', '-m', 'kept', '-r', '-q', '1']);
    // autosave_on_changes with autosave_interval 1 saves after every change
    await new Promise((r) => setTimeout(r, 300));
    await broker.kill();
    await broker.restart();
    const { stdout } = await run('mosquitto_sub', [...args, '-t', 'l/keep', '-C', '1', '-W', '5']);
    expect(stdout.trim()).toBe('kept');
  }, 30_000);

  peerTest('SIGSTOP keeps the port open but the broker silent, SIGCONT brings it back', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(broker.ports.plain)];
    broker.pause();
    await expect(run('mosquitto_pub', [...args, '-t', 'l/s', '-m', 'x'], { timeout: 1500 })).rejects.toThrow();
    broker.resume();
    await run('mosquitto_pub', [...args, '-t', 'l/s', '-m', 'x']);
  }, 30_000);
});
