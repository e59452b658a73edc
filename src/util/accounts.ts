// Unix accounts by name or uid, through the system's name service (getent passwd,
// so NSS sources such as LDAP count too). Used where identity decides something:
// the gateway user to become, the owner of a maildrop file, a mailbox's account.
import { execFile } from 'node:child_process';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The account with this name or uid, or undefined when there is none. */
export function lookupAccount(key: string | number): Promise<Account | undefined> {
  return new Promise((resolve, reject) => {
    execFile('getent', ['passwd', String(key)], { encoding: 'utf8' }, (err, stdout) => {
      // getent exits 2 for "no such key"; anything else is a failure to look.
      if (err) return (err as { code?: unknown }).code === 2 ? resolve(undefined) : reject(err);
      const f = stdout.split('\n')[0].split(':');
      if (f.length < 7) return resolve(undefined);
      resolve({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] });
    });
  });
}
