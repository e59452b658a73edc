// The layers of src/, bottom to top. A file may import from its own layer or
// below, never above, and no import circle is allowed. `npm test` checks this
// (`npm run layers`); a break names the two files.
//
//   util, log            plumbing: errors, durable writes, paths, logging
//   config               mail settings and Taylor UUCP configuration, parsed once
//   address, message     pure parsing and rewriting of addresses and messages
//   uucp                 a whole UUCP stack that knows nothing of mail
//   deliver, bsmtp       transports: one per kind of delivery; BSMTP format
//   route                routers and directors: an address to a route
//   queue                the spool, the index, the runner, retries, bounces
//   runtime              the wiring: configuration + router + queue = a gateway
//   inject, smtp         entry points: rmail/sendmail, the SMTP server
//   daemon, install      the long-running services; laying out and checking an installed host
//   cli                  argument parsing; calls the layers
//
// There are no exceptions: every violation fails, naming the two files. The
// one sanctioned way for a lower layer to use a higher one is a handler table
// the higher layer passes down (uuxqt's commands: uucp/exec-command.ts).
const LAYERS = [['util', 'log'], ['config'], ['address', 'message'], ['uucp'], ['deliver', 'bsmtp'], ['route'], ['queue'], ['runtime'], ['inject', 'smtp'], ['daemon', 'install'], ['cli']];

const folders = (layers) => `^src/(${layers.flat().join('|')})/`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-up-from-${layer.join('-')}`,
  comment: `${layer.join(', ')} may not import from a layer above it`,
  severity: 'error',
  from: { path: folders([layer]) },
  to: { path: folders(LAYERS.slice(i + 1)) },
}));

module.exports = {
  forbidden: [
    ...upward,
    { name: 'no-circular', comment: 'no import circles', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(dist|test|bench)/' },
  },
};
