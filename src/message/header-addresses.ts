// Addresses out of header fields (To, Cc, Bcc), via the email-addresses RFC 5322
// parser; groups are flattened. Falls back to comma splitting for fields the
// strict parser refuses, so a sloppy header still reaches its recipients.
export async function addressesOf(value: string): Promise<string[]> {
  const { default: emailAddresses } = await import('email-addresses'); // only sendmail -t needs it
  const parsed = emailAddresses.parseAddressList({ input: value, rfc6532: true, partial: false } as never) as
    | Array<{ type: string; address?: string; addresses?: Array<{ address: string }> }>
    | null;
  if (!parsed) return value.split(',').map((s) => s.replace(/.*<(.*)>.*/, '$1').trim()).filter(Boolean);
  return parsed.flatMap((a) => (a.type === 'group' ? (a.addresses ?? []).map((m) => m.address) : [a.address!]));
}
