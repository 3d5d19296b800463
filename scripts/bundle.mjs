// Builds dist/: the action (main, post) and the CLI as self-contained ESM files, so a
// runner needs no node_modules. ssh2's optional native helpers stay out: it falls back
// to pure JavaScript when they are missing.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/main.ts', post: 'src/post.ts', cli: 'src/cli.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['cpu-features', '*.node'],
  // CommonJS dependencies call require() for Node built-ins; ESM output needs one.
  banner: { js: "import { createRequire as __xpvCreateRequire } from 'node:module'; const require = __xpvCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
