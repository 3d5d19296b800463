// Validating JUnit with xmllint against our own schema of the dialect we write
// (schemas/junit.xsd), and, when XEN_PVH_VIRTIO_JENKINS_XSD names Jenkins' schema, against
// that one too (it lacks the `skipped` attribute on <testsuites>, which is dropped for it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const JUNIT_XSD = resolve(__dirname, '../../schemas/junit.xsd');

export function validateJunit(xml: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-junit-'));
  const file = join(dir, 'junit.xml');
  writeFileSync(file, xml);
  execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
  const jenkins = process.env.XEN_PVH_VIRTIO_JENKINS_XSD;
  if (jenkins) {
    const root = /<testsuites\b[^>]*>/.exec(xml)![0];
    const stripped = join(dir, 'junit-jenkins.xml');
    writeFileSync(stripped, xml.replace(root, root.replace(/ skipped="\d+"/, '')));
    execFileSync('xmllint', ['--noout', '--schema', jenkins, stripped], { stdio: 'pipe' });
  }
}
