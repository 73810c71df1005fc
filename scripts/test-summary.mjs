// Prints vitest's JSON report as one plain closing line: "Tests: N passed, N failed, N skipped"
// (after a label, when one is given: node scripts/test-summary.mjs FILE [LABEL]).
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'test-results/vitest.json', 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${process.argv[3] ? `${process.argv[3]}: ` : ''}Tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
process.exitCode = report.numTotalTests > 0 && report.numFailedTests === 0 ? 0 : 1;
