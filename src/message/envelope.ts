// A message's envelope: who sent it, to whom, when and how it arrived. The
// queue file stores it as JSON ahead of the message (queue/spool.ts); transports
// are handed it with each delivery job.
export interface Envelope {
  id: string;
  sender: string; // '' for the null sender
  recipients: string[];
  arrival: number; // ms since epoch
  origin: string; // rmail, sendmail, smtp, bsmtp, bounce, ...
  /** Envelope sender given by the mail's expansion (owner-list); bounces go here. */
  errorsTo?: string;
}
