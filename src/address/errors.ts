// The address layer's one error type. Everything in src/address/ that rejects
// input throws AddressError (never a TypeError or RangeError), so callers can
// bounce with 5.1.3 "bad destination mailbox address syntax".

import { EX, GatewayError } from '../util/errors.js';

export class AddressError extends GatewayError {
  /** The (possibly truncated) address that was rejected. */
  readonly address: string;

  constructor(message: string, address: string, status = '5.1.3') {
    const shown = address.length > 200 ? `${address.slice(0, 200)}...` : address;
    super(message, { exitCode: EX.DATAERR, status, where: JSON.stringify(shown), temporary: false });
    this.name = 'AddressError';
    this.address = shown;
  }
}
