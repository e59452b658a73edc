#!/usr/bin/env node
// Runs the ava suite with the TAP reporter, echoes it, and ends with the plain
// "N passed, N failed" line that CI reads. Exit status is ava's.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// ava's CLI file is not in its package exports; it sits at a fixed place in node_modules.
const avaCli = fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url));
const child = spawn(process.execPath, [avaCli, '--tap', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
createInterface({ input: child.stdout }).on('line', (line) => {
  process.stdout.write(`${line}\n`);
  if (/^not ok \d+/.test(line)) {
    if (/# TODO/.test(line)) return;
    failed++;
    failures.push(line);
  } else if (/^ok \d+/.test(line)) {
    if (/# SKIP/.test(line)) skipped++;
    else passed++;
  }
});
child.on('close', (code) => {
  // ava can stop without a "not ok" line (a timeout that crashes its TAP reporter): still a failure.
  if (code !== 0 && failed === 0) {
    failed = 1;
    failures.push(`ava exited with status ${code} without reporting the failing test (timeout or crash; see above)`);
  }
  if (failures.length) process.stdout.write(`\nFailures:\n${failures.join('\n')}\n`);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code === 0 && failed === 0 ? 0 : code || 1);
});
