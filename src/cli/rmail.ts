// rmail [--config DIR] [--uucp DIR] [--spool DIR] recipient...
// Hand-parsed: it runs once per incoming UUCP message, so it avoids loading commander.
import { takeLocationFlag, type LocationArgs } from './sendmail-args.js';
import { loadGateway } from '../runtime/gateway.js';
import { deliverAccepted } from '../runtime/after-accept.js';
import { rmail } from '../inject/rmail.js';
import { currentUser } from '../inject/submission.js';
import { usageError } from '../util/errors.js';

export async function rmailMain(argv: string[]): Promise<void> {
  const locations: LocationArgs = {};
  const recipients: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const taken = takeLocationFlag(argv, i, locations);
    if (taken) i += taken - 1;
    else if (argv[i] === '--') recipients.push(...argv.splice(i + 1));
    else if (argv[i] === '-h' || argv[i] === '--help') throw usageError('usage: rmail [--config DIR] [--uucp DIR] [--spool DIR] recipient ...');
    else recipients.push(argv[i]);
  }
  const gw = await loadGateway(locations);
  const id = await rmail(gw, {
    recipients,
    input: process.stdin,
    fromSystem: process.env.UU_MACHINE,
    defaultSender: process.env.UU_USER ?? currentUser(),
  });
  await deliverAccepted(gw, [id]);
}
