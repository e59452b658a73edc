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
  external: ['level', 'classic-level', 'serialport', '@serialport/*', 'nodemailer', 'nodemailer/*', 'pino', 'cli-progress', 'node-cron'],
  // Bundled CommonJS code (commander) calls require() for Node's own modules.
  banner: { js: "import { createRequire as __uugateRequire } from 'node:module'; const require = __uugateRequire(import.meta.url);" },
  sourcemap: true,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
// The maildrop client (sendmail/rmail run by a local user) is one self-contained
// file: every module resolved at start-up costs its cold start (bench inject).
await build({
  entryPoints: { maildrop: 'src/cli/maildrop-client.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
});
