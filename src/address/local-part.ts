// Local parts that must never reach a file name. Directors build paths from
// names (local_delivery=mail/%s, config/forward/NAME, USER-EXT-default rules),
// so a name with a `/`, a name that is `.` or `..`, or one starting with `.`
// (a hidden or parent entry) is refused before routing, as qmail refuses
// `.`-leading and `/`-bearing names in its local parts.

/** Why `local` may not be used as a local part, or undefined when it is safe. */
export function unsafeLocalPart(local: string): string | undefined {
  // Quotes and backslash escapes only hide characters; judge what they hide.
  const bare = local.replace(/["\\]/g, '');
  if (bare.includes('/')) return `local part "${local}" contains "/"`;
  if (bare.startsWith('.')) return `local part "${local}" starts with "."`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(bare)) return `local part "${local}" contains a control character`;
  return undefined;
}
