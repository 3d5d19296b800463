// Validating JUnit the way Jenkins imports it: xmllint against Jenkins' own schema.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const JUNIT_XSD = resolve(__dirname, '../../../shared/schemas/junit-jenkins.xsd');

/** junit-report-builder writes `skipped` on <testsuites>, which Jenkins' schema lacks: drop exactly that. */
export function validateJunit(xml: string): void {
  const root = /<testsuites\b[^>]*>/.exec(xml)![0];
  const stripped = xml.replace(root, root.replace(/ skipped="\d+"/, ''));
  const file = join(mkdtempSync(join(tmpdir(), 'xpv-junit-')), 'junit.xml');
  writeFileSync(file, stripped);
  execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
}
