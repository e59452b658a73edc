// The UUCP file commands once a protocol runs (docs/uucp.md "File commands"; Taylor
// manual "UUCP Protocol Commands"; Taylor's send.c/rec.c read for behaviour):
//
//   S from to user -opts temp mode notify [size]   → SY [0x<offset>] | SN2 SN4 SN6 SN7 SN8 SN9 SN10
//   E from to user -opts temp mode notify size cmd → EY | EN...       (data is the command's stdin)
//        ... file data, then end of file ...       → CY | CYM | CN5   (from the receiver)
//   R from to user -opts [maxsize]                 → RY 0<mode> [0x<size>] | RN2 RN6 RN9
//        ... file data ...                         → CY | CN5         (from the requester)
//   X from to user -opts                           → XY | XN
//
// Receiving: the name is checked (spool D./X. names, or paths inside the
// directories `remote-receive` allows; never `..`, devices or symlinks out),
// the data goes to `.Temp/<sys>/<temp>`, is fsync'd and moved into place, and
// only then is CY sent: a file we acknowledged survives a crash. A file whose
// acknowledgement may have been lost is remembered in `.Received` so a resend
// gets SN8. Sending: a work command is marked done only after CY (or SN8).
//
// Damage g's checksum missed: from a peer that sends no digest, a file during
// which the line damaged packets is refused when the chance that one slipped
// through passes MAX_UNDETECTED_RISK (damageWatch). Not with CN: Taylor then
// drops the job for good and mails the user; we close the protocol and hang
// up before the CY instead, so the sender keeps the job and retries at its
// next call.
import type { UucpSystem } from '../config/uucp/types.js';
import type { Protocol } from './protocol/protocol.js';
import { DigestRetries } from './session-digest.js';
import { type Outcome, TransferLink, type TransferEnv, type TransferStats } from './session-link.js';
import { Receiver } from './session-receive.js';
import { Sender } from './session-send.js';
import type { WorkCommand } from './spool/work-file.js';

/** The file commands of one session: the sending side, the receiving side, and X. */
export class Transfers extends TransferLink {
  private readonly sender: Sender;
  private readonly receiver: Receiver;

  constructor(proto: Protocol, sys: UucpSystem, features: number, env: TransferEnv, stats: TransferStats) {
    super(proto, sys, features, env, stats);
    // One retry state: a try of either direction says how it ended.
    const retries = new DigestRetries((m) => env.log(`${sys.name}: ${m}`));
    this.sender = new Sender(proto, sys, features, env, stats, retries);
    this.receiver = new Receiver(proto, sys, features, env, stats, retries);
  }

  /** The peer wants to send us a file (S) or run a command with a file as input (E). */
  remoteSend(cmd: string): Promise<void> {
    return this.receiver.remoteSend(cmd);
  }

  /** The peer requests one of our files (R). */
  remoteReceive(cmd: string): Promise<void> {
    return this.sender.remoteReceive(cmd);
  }

  /** X: remote execution of a uux-forwarding request; we do not do it. */
  async remoteExec(cmd: string): Promise<void> {
    this.env.log(`${this.sys.name}: refused X request "${cmd}"`);
    await this.send('XN');
  }

  /** Called when the conversation ended cleanly: every CY we sent was seen. */
  forgetReceived(): Promise<void> {
    return this.receiver.forgetReceived();
  }

  /** Carries out one command of a work file; 'done' means it may be removed. */
  async doWork(cmd: WorkCommand): Promise<Outcome> {
    switch (cmd.type) {
      case 'S':
        return this.sender.sendFile(cmd);
      case 'E':
        return this.sender.sendExec(cmd);
      case 'R':
        return this.receiver.requestFile(cmd.from, cmd.to, cmd.user, cmd.options);
      case 'X': {
        await this.send(`X ${cmd.from} ${cmd.to} ${cmd.user} -${cmd.options}`);
        const r = await this.read('reply to X');
        if (!r.startsWith('XY')) this.env.log(`${this.sys.name}: X request ${cmd.from} refused (${r})`);
        return 'done';
      }
    }
  }
}
