/**
 * Ends every jest run with one plain line, `lwsx: N passed, N failed, N skipped`, that CI and
 * people can read without knowing jest's summary format. Skipped tests are counted, never hidden.
 */
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failedSuites = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    // a suite that fails to load has no failed tests of its own: count it as a failure
    const failed = results.numFailedTests + (results.numFailedTests === 0 ? failedSuites : 0);
    const line = `lwsx: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    // at exit, so it comes after jest's own closing lines (writes to files and pipes are synchronous then)
    process.once('exit', () => process.stdout.write(line));
  }
}
