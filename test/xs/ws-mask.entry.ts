/** XS entry: the ws masking vectors (ws-mask-vectors.ts) reported to the host. */
import { reportToHost } from './report.js';
import { runWsMaskVectors } from './ws-mask-vectors.js';

reportToHost(() => runWsMaskVectors());
