// The README's inputs/outputs tables, rendered from the option table so the README
// cannot drift from action.yml (a test compares them).
import { OPTIONS, OUTPUTS } from './options.js';

const esc = (s: string) => s.replace(/\|/g, '\\|');

export function inputsTable(): string {
  const rows = Object.entries(OPTIONS).map(([name, spec]) => {
    const dflt = 'default' in spec ? `\`${spec.default}\`` : '';
    return `| \`${name}\` | ${esc(spec.description)} | ${dflt} |`;
  });
  return ['| Input (CLI flag `--name`) | Description | Default |', '| --- | --- | --- |', ...rows].join('\n');
}

export function outputsTable(): string {
  const rows = Object.entries(OUTPUTS).map(([name, d]) => `| \`${name}\` | ${esc(d)} |`);
  return ['| Output | Description |', '| --- | --- |', ...rows].join('\n');
}
