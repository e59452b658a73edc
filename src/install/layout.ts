// Where `uugate install --root DIR` puts things, and the text of every file it
// owns (wrappers and systemd units). Everything refers to paths under DIR, so a
// test can run the whole installed system from a temporary root.
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/locations.js';
import { usageError } from '../util/errors.js';

export interface Layout {
  root: string;
  configDir: string;
  uucpDir: string;
  spoolDir: string;
  maildrop: string;
  unitDir: string;
}

/** Commands installed as wrappers: path under the root, and the uugate command each runs ('' = uugate itself). */
export const WRAPPERS: ReadonlyArray<{ file: string; command: string }> = [
  { file: 'usr/sbin/sendmail', command: 'sendmail' },
  { file: 'usr/sbin/rmail', command: 'rmail' },
  { file: 'usr/sbin/rsmtp', command: 'rsmtp' },
  { file: 'usr/bin/mailq', command: 'mailq' },
  { file: 'usr/bin/runq', command: 'runq' },
  { file: 'usr/sbin/uugate', command: '' },
];

export const UNITS = ['uugate.service', 'uugate-uucp.socket', 'uugate-uucp@.service'] as const;

/** Taylor files holding passwords: root's, readable by the gateway's group only (0640). */
export const SECRET_FILES = new Set(['passwd', 'call']);

/** The line that marks a wrapper or unit as written by `uugate install` (uninstall removes only these). */
export const MARK = '# Written by uugate install';

/** Kept beside a replaced command (another MTA's sendmail) and put back by uninstall. */
export const SAVED_SUFFIX = '.uugate-saved';

// Paths go into shell scripts and unit files unquoted: refuse anything that
// would need quoting there (blanks, quotes, `$`, systemd's `%` specifiers).
const PLAIN_PATH = /^\/[A-Za-z0-9._+/-]*$/;

export function plainPath(p: string, what: string): string {
  if (!PLAIN_PATH.test(p)) throw usageError(`${what} "${p}" has characters that would need quoting in a shell script or unit file; use a path of letters, digits and ._+-/`);
  return p;
}

/** The layout under `root` (an absolute path; '/' for the host itself). */
export function layoutFor(root: string): Layout {
  const r = plainPath(path.resolve(root), '--root');
  const under = (p: string): string => path.join(r, p);
  return {
    root: r,
    configDir: under('etc/uugate'),
    uucpDir: under('etc/uugate/uucp'),
    spoolDir: under('var/spool/uugate'),
    maildrop: under('var/spool/uugate/maildrop'),
    unitDir: under('lib/systemd/system'),
  };
}

/** The root when none is given: the one an installed wrapper names (UUGATE_ROOT), else '/'. */
export const defaultRoot = (env: NodeJS.ProcessEnv = process.env): string => env.UUGATE_ROOT || '/';

const node = (): string => plainPath(process.execPath, 'the node binary');
const entry = (): string => plainPath(path.join(PACKAGE_ROOT, 'bin/uugate'), 'the package directory');

/** A wrapper: this package's bin/uugate with the layout's configuration and spool (environment, so every command honours it). */
export function wrapperText(l: Layout, command: string): string {
  return [
    '#!/bin/sh',
    `${MARK}: runs ${entry()}${command ? ` ${command}` : ''} with the configuration and spool under ${l.root}.`,
    `UUGATE_ROOT=${l.root} UUGATE_CONFIG=${l.configDir} UUGATE_UUCP=${l.uucpDir} UUGATE_SPOOL=${l.spoolDir}`,
    'export UUGATE_ROOT UUGATE_CONFIG UUGATE_UUCP UUGATE_SPOOL',
    `exec ${node()} ${entry()}${command ? ` ${command}` : ''} "$@"`,
    '',
  ].join('\n');
}

// Sandboxing both services share: the file system is read-only except the
// spool, /tmp is private, and the kernel's knobs are out of reach. Devices stay
// visible: the daemon's call scheduler opens modem and serial ports.
const SANDBOX = (l: Layout): string[] => [
  'NoNewPrivileges=yes',
  'ProtectSystem=strict',
  `ReadWritePaths=${l.spoolDir}`,
  'PrivateTmp=yes',
  'ProtectKernelTunables=yes',
  'ProtectKernelModules=yes',
  'ProtectControlGroups=yes',
  'RestrictSUIDSGID=yes',
  'RestrictRealtime=yes',
  'LockPersonality=yes',
  'UMask=0077',
];

/**
 * The unit files. The daemon starts as root: it binds its ports, then runs as
 * gateway_user (read from uugate.conf), keeping only a small root helper that
 * starts deliveries as other accounts; the bounding set is what those need.
 * A UUCP call over TCP runs as the gateway user from the start, and prompts
 * for a login: a TCP caller has proved nothing yet (unlike an SSH key).
 */
export function unitText(l: Layout, unit: (typeof UNITS)[number], user: string): string {
  const uugate = path.join(l.root, 'usr/sbin/uugate');
  const docs = `Documentation=file:${path.join(PACKAGE_ROOT, 'docs/install.md')}`;
  const head = `${MARK}; local changes belong in a drop-in (systemctl edit ${unit}).`;
  switch (unit) {
    case 'uugate.service':
      return [
        head, '[Unit]', 'Description=uugate mail gateway (SMTP server, queue runs, UUCP calls)', docs, 'After=network.target', '',
        '[Service]', 'Type=simple', `ExecStart=${uugate} daemon`, 'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure',
        'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_CHOWN CAP_DAC_OVERRIDE CAP_KILL',
        ...SANDBOX(l), '',
        '[Install]', 'WantedBy=multi-user.target', '',
      ].join('\n');
    case 'uugate-uucp.socket':
      return [
        head, '[Unit]', 'Description=uugate: UUCP calls over TCP (port 540)', docs, '',
        '[Socket]', 'ListenStream=540', 'Accept=yes', '',
        '[Install]', 'WantedBy=sockets.target', '',
      ].join('\n');
    case 'uugate-uucp@.service':
      return [
        head, '[Unit]', 'Description=uugate: one UUCP call over TCP', docs, '',
        '[Service]', `ExecStart=${uugate} uucico -l`, 'StandardInput=socket', 'StandardOutput=socket', 'StandardError=journal',
        `User=${user}`, 'CapabilityBoundingSet=', ...SANDBOX(l), '',
      ].join('\n');
  }
}
