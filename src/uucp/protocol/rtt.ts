// Round-trip estimation shared by the g and i engines: RFC 6298's smoothed
// RTT and variance (gains 1/8 and 1/4), fed only by packets sent once (Karn),
// and a backoff doubled on each timeout in a row.
export class RttEstimator {
  private srtt = 0;
  private rttvar = 0;
  private backoff = 1;
  /** At least one sample was taken. */
  sampled = false;

  sample(rtt: number): void {
    if (!this.sampled) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
      this.sampled = true;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    this.backoff = 1;
  }

  /** A timeout in a row: the next RTO doubles (up to 64 times the base). */
  backOff(): void {
    this.backoff = Math.min(this.backoff * 2, 64);
  }

  /**
   * SRTT + 4·RTTVAR, at least `minMs`, times `scale` and the backoff, at
   * most `maxMs`; `maxMs` itself (the protocol's fixed timeout) when not
   * `adaptive` or before the first sample.
   */
  rto(adaptive: boolean, minMs: number, maxMs: number, scale: () => number = () => 1): number {
    if (!adaptive || !this.sampled) return maxMs;
    return Math.min(maxMs, Math.max(minMs, this.srtt + 4 * this.rttvar) * scale() * this.backoff);
  }
}
