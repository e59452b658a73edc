// Bundles the CLI into dist/bundle/ (ESM, code-split at dynamic imports) so a
// per-message command such as rmail starts without resolving dozens of modules.
// Small pure-JS dependencies are bundled in; native add-ons (LevelDB, serialport)
// and the larger libraries stay external and load only on the paths that need them.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: { uugate: 'src/cli/main.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['level', 'classic-level', 'serialport', '@serialport/*', 'nodemailer', 'nodemailer/*', 'pino', 'cli-progress', 'node-cron', 'prom-client'],
  // Bundled CommonJS code (commander) calls require() for Node's own modules.
  banner: { js: "import { createRequire as __uugateRequire } from 'node:module'; const require = __uugateRequire(import.meta.url);" },
  sourcemap: true,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
// The maildrop client (sendmail/rmail run by a local user) is one self-contained
// CommonJS file, required by bin/uugate: every module resolved at start-up, and
// the ES module loader itself, cost its cold start (bench inject).
await build({
  entryPoints: ['src/cli/maildrop-client.ts'],
  outfile: 'dist/bundle/maildrop.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  define: { 'import.meta.url': '__uugateUrl' },
  banner: { js: "const __uugateUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
