#!/usr/bin/env node
// Rewrites what is generated from src/config/options.ts: action.yml's inputs and outputs,
// the README's tables and scenarios/schema.json. Run after changing an option; the tests in
// test/system/action/ fail until the files agree. Usage: node scripts/sync-options.mjs
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'xpv-sync-'));
try {
  const entry = join(tmp, 'entry.ts');
  writeFileSync(entry, `export { OPTIONS, OUTPUTS } from ${JSON.stringify(join(root, 'src/config/options.ts'))};\nexport { inputsTable, outputsTable } from ${JSON.stringify(join(root, 'src/config/options-table.ts'))};\n`);
  const out = join(tmp, 'entry.mjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'warning' });
  const { OPTIONS, OUTPUTS, inputsTable, outputsTable } = await import(pathToFileURL(out).href);

  const q = (s) => JSON.stringify(s);
  const yml = readFileSync(join(root, 'action.yml'), 'utf8');
  const head = yml.slice(0, yml.indexOf('inputs:\n'));
  const tail = yml.slice(yml.indexOf('runs:\n'));
  const inputs = Object.entries(OPTIONS).map(([name, spec]) =>
    [`  ${name}:`, `    description: ${q(spec.description)}`, '    required: false', ...(spec.default !== undefined ? [`    default: ${q(spec.default)}`] : [])].join('\n'),
  );
  const outputs = Object.entries(OUTPUTS).map(([name, d]) => `  ${name}:\n    description: ${q(d)}`);
  writeFileSync(join(root, 'action.yml'), `${head}inputs:\n${inputs.join('\n')}\n\noutputs:\n${outputs.join('\n')}\n\n${tail}`);

  let readme = readFileSync(join(root, 'README.md'), 'utf8');
  const replaceBetween = (text, begin, end, body) => {
    const a = text.indexOf('\n', text.indexOf(begin)) + 1;
    const b = text.indexOf(end, a);
    if (a <= 0 || b < 0) throw new Error(`README.md has no ${begin} … ${end} markers`);
    return text.slice(0, a) + body + '\n' + text.slice(b);
  };
  readme = replaceBetween(readme, '<!-- inputs:begin', '<!-- inputs:end -->', inputsTable());
  readme = replaceBetween(readme, '<!-- outputs:begin', '<!-- outputs:end -->', outputsTable());
  writeFileSync(join(root, 'README.md'), readme);

  const schema = execFileSync(process.execPath, [join(root, 'dist/cli.js'), 'scenarios', 'schema'], { encoding: 'utf8' });
  writeFileSync(join(root, 'scenarios/schema.json'), schema);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
