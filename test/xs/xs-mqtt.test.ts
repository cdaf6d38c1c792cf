/**
 * The MQTT codec inside Moddable's XS: the vectors of mqtt-vectors.ts (every packet type under
 * both versions, streaming, refusals, topic matching) must give inside XS exactly what they
 * give under Node.
 */
import { execFileSync } from 'node:child_process';
import { runMqttVectors } from './mqtt-vectors.js';

const runner = new URL('./run-in-xs.mjs', import.meta.url).pathname;
const entry = new URL('./mqtt.entry.ts', import.meta.url).pathname;

test('MQTT codec vectors: XS results equal Node results', () => {
  const node = runMqttVectors();
  const out = execFileSync(process.execPath, [runner, entry], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 << 20 });
  const { result, meter } = JSON.parse(out.trim().split('\n').pop() as string);
  expect(result.error).toBeUndefined();
  // the vectors ran and mean something: 26 packets, the 5.0 ones streamed, refusals typed
  expect((node['encoded'] as string[]).length).toBe(26);
  expect((node['streamed'] as unknown[]).length).toBe(16);
  for (const r of node['refusals'] as Record<string, unknown>[]) expect(r['code']).toMatch(/^ERR_MQTT_/);
  expect((node['encodeRefusals'] as Record<string, unknown>[]).map((r) => r['code'])).toEqual([...Array(7).fill('ERR_MQTT_ENCODE'), 'ERR_MQTT_ENCODE_TOO_LARGE']);
  expect(result).toEqual(JSON.parse(JSON.stringify(node)));
  expect(meter.compute).toBeGreaterThan(0);
});
