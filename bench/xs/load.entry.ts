/** XS bench baseline: the same code loaded, nothing booted. Boot cost = boot − load. */
import { bootOnce } from '../../test/vectors/boot-vectors.js';
import { reportToHost } from '../../test/xs/report.js';

reportToHost(() => ({ loaded: typeof bootOnce }));
