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
  // CommonJS dependencies call require() for Node built-ins and read __dirname (ssh2);
  // ESM output has neither, so every output file defines them.
  banner: {
    js: [
      "import { createRequire as __xpvCreateRequire } from 'node:module';",
      "import { fileURLToPath as __xpvFileURLToPath } from 'node:url';",
      "import { dirname as __xpvDirname } from 'node:path';",
      'const require = __xpvCreateRequire(import.meta.url);',
      'const __xpvFilename = __xpvFileURLToPath(import.meta.url);',
      'const __xpvDir = __xpvDirname(__xpvFilename);',
    ].join(' '),
  },
  define: { __dirname: '__xpvDir', __filename: '__xpvFilename' },
  legalComments: 'none',
  logLevel: 'warning',
});
