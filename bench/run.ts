/** `npm run bench`: every benchmark, one after another, in one run. */
import { main as sul } from './sul.bench.js';
import { main as xsBoot } from './xs-boot.bench.js';

await sul();
await xsBoot();
