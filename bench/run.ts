/** `npm run bench`: every benchmark, one after another, in one run. */
import { main as dns } from './dns.bench.js';
import { main as h1 } from './h1-parse.bench.js';
import { main as httpServer } from './http-server.bench.js';
import { main as mqtt } from './mqtt.bench.js';
import { main as sul } from './sul.bench.js';
import { main as ssPolicy } from './ss-policy.bench.js';
import { main as wsEcho } from './ws-echo.bench.js';
import { main as wsParse } from './ws-parse.bench.js';
import { main as xs } from './xs.bench.js';

await sul();
await dns();
await h1();
await wsParse();
await wsEcho();
await httpServer();
await mqtt();
await ssPolicy();
await xs();
