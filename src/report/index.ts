// report/: a RunResult in; JUnit, a Markdown summary and output values out.
export { buildJunit, writeJunit } from './junit.js';
export { buildMergedSummary, buildSummary, summaryBody, type ShardSummary } from './summary.js';
export { writeReports, type ReportTarget, type WrittenReports } from './write.js';
export { RESULT_FILE, parseResultFile, writeResultFile, type ResultFile } from './result-file.js';
