/** The MQTT codec vectors, as run inside XS by test/xs/run-in-xs.mjs (see xs-mqtt.test.ts). */
import { runMqttVectors } from './mqtt-vectors.js';
import { reportToHost } from './report.js';

reportToHost(runMqttVectors);
