// Bundles the CLI into dist/bundle/ (ESM, code-split at dynamic imports) so a
// per-message command such as rmail starts without resolving dozens of modules.
// Native add-ons (LevelDB, serialport) stay external and load only when needed.
import { build } from 'esbuild';

await build({
  entryPoints: { uugate: 'src/cli/main.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
