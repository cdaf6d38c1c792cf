/** XS bench: boot a context to OPERATIONAL on the virtual host (policy included). */
import { bootOnce } from '../../test/vectors/boot-vectors.js';
import { reportToHost } from '../../test/xs/report.js';

reportToHost(async () => {
  const { ctx, errors } = await bootOnce('{"release":"1","product":"bench","schema-version":1,"s":[]}');
  return { state: ctx.system.state.stateName, errors };
});
