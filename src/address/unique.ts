// Envelope recipients that are plainly the same address, spelled the same way but
// for case where case means nothing: a bare local part is ours, and our local
// names ignore case (`BOB` = `bob`); a domain ignores case (`u@Far.Example` =
// `u@far.example`). A remote local part keeps its case (RFC 5321 section 2.4).
// Recipients that only route to the same place are collapsed by the queue runner.

/** The form two spellings of one address share. */
export function sameAddressKey(addr: string): string {
  const a = addr.trim().replace(/^<(.*)>$/, '$1');
  const at = a.lastIndexOf('@');
  if (at >= 0) return `${a.slice(0, at)}@${a.slice(at + 1).toLowerCase()}`;
  return /[!%"\\]/.test(a) ? a : a.toLowerCase();
}

/** `list` without the later spellings of an address already in it (order kept). */
export function uniqueAddresses(list: readonly string[]): string[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = sameAddressKey(a);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
