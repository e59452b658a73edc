// Queued UUCP work for tests: a data file plus the C. file that sends it.
import { writeSpoolData, writeWorkFile, type WorkCommand } from '../../src/uucp/spool/work-file.js';

/**
 * Spools `data` as `dataName` for `system` and queues one C. file sending it to
 * `to` (a `~/` path on the peer), followed by any `more` commands (e.g. an R request).
 */
export async function queueSend(spoolDir: string, system: string, dataName: string, data: Buffer, to: string, more: WorkCommand[] = []): Promise<void> {
  await writeSpoolData(spoolDir, system, dataName, data);
  const send: WorkCommand = { type: 'S', from: dataName, to, user: 'alice', options: 'C', temp: dataName, mode: 0o644, notify: '' };
  await writeWorkFile(spoolDir, system, 'N', [send, ...more]);
}
