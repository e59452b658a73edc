/**
 * A packet size that follows the damage the line does to it, shared by g's
 * and i's senders and by the size i asks its peer to send: a damaged packet
 * halves it (not below `min`), at most once per `window` packets at the new
 * size; `pays(size)` good bytes in a row double it, up to the limit of the
 * moment (the peer's size, or ours). Each engine's comment says why its
 * `pays` is what it is.
 */
export class AdaptiveSize {
  /** Good bytes since the last damage or change. */
  private clean = 0;
  /** Packets still to pass at the current size before damage may halve it again. */
  private guard = 0;

  constructor(
    public size: number,
    private readonly min: number,
    private readonly pays: (size: number) => number,
  ) {}

  /** A packet went at the current size (sent, or received when the size is the one asked for). */
  passed(): void {
    if (this.guard > 0) this.guard--;
  }

  /** A packet at this size was damaged; true when the size changed. */
  damaged(window: number): boolean {
    this.clean = 0;
    if (this.guard > 0 || this.size <= this.min) return false;
    this.set(Math.max(this.min, this.size >> 1), window);
    return true;
  }

  /** `bytes` went through intact; true when the size changed. */
  good(bytes: number, limit: number, window: number): boolean {
    if (this.size >= limit) return false;
    this.clean += bytes;
    if (this.clean < this.pays(this.size)) return false;
    this.set(Math.min(limit, this.size * 2), window);
    return true;
  }

  /** A size set from outside the rule (a halving for too many errors), guarded as the rule's own are. */
  set(size: number, window: number): void {
    this.size = size;
    this.clean = 0;
    this.guard = window;
  }
}
