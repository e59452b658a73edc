// rmail [--config DIR] [--uucp DIR] [--spool DIR] recipient...
// Hand-parsed: it runs once per incoming UUCP message, so it avoids loading commander.
import { parseRmailArgs } from './sendmail-args.js';
import { loadGateway } from '../runtime/gateway.js';
import { deliverAccepted } from '../runtime/after-accept.js';
import { rmail } from '../inject/rmail.js';
import { currentUser } from '../inject/submission.js';

export async function rmailMain(argv: string[]): Promise<void> {
  const { recipients, locations } = parseRmailArgs(argv);
  const gw = await loadGateway(locations);
  const id = await rmail(gw, {
    recipients,
    input: process.stdin,
    fromSystem: process.env.UU_MACHINE,
    defaultSender: process.env.UU_USER ?? currentUser(),
  });
  await deliverAccepted(gw, [id]);
}
