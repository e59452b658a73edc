// uucico: call other systems or answer their calls. (Filled in by the UUCP session work.)
import type { Command } from 'commander';

export function registerUucicoCommand(_program: Command): void {}
