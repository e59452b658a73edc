// pipe port: run a command and talk to its stdin/stdout, e.g.
// `ssh hub uugate uucico --slave --stdio`. The command is split into words by
// the config parser and run without a shell.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { type Port, portError } from './port.js';

export function openPipePort(argv: string[]): Promise<Port> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    child.once('error', (err) => reject(portError(`running ${argv[0]}: ${err.message}`)));
    child.once('spawn', () => {
      const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
      child.stdin.on('error', () => undefined);
      const exited = new Promise<void>((res) => child.once('close', () => res()));
      child.once('close', () => stream.destroy());
      resolve({
        name: `pipe ${argv.join(' ')}`,
        stream,
        close: async () => {
          child.stdin.end();
          const t = setTimeout(() => child.kill('SIGTERM'), 5000);
          t.unref();
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}
