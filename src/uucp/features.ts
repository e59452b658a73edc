// The feature bits two sites agree on in the handshake (Taylor's `-N` mask,
// session-handshake.ts); the session, the file transfers and the protocols'
// settings test them.
export const FEATURE = {
  SIZES: 0o1,
  RESTART: 0o2,
  EXEC: 0o4,
  V103: 0o10,
  SVR4: 0o20,
  QUOTES: 0o40,
  /** Ours, never sent in a -N mask: the peer is uugate, files carry a SHA-256 (`-Yuugate`). */
  DIGEST: 0o1000000,
} as const;
