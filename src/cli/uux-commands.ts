// uux, uuxqt, uustat: queue remote executions, run received ones, show the UUCP queue.
// (Filled in by the UUCP execution work.)
import type { Command } from 'commander';

export function registerUuxCommands(_program: Command): void {}
