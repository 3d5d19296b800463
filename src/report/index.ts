// report/: a RunResult in; JUnit, a Markdown summary and output values out.
export { buildJunit, writeJunit } from './junit.js';
export { buildSummary } from './summary.js';
