// Retry schedule after qmail: the n-th retry comes (c·n)² seconds after arrival,
// with c chosen per transport (10 for local deliveries: 100 s, 400 s, 900 s, …;
// 20 for remote ones: 400 s, 1600 s, 3600 s, …). Past queue_lifetime one last
// attempt is made and any temporary failure then counts as permanent.

export interface RetryPlan {
  /** When to try next (ms), or undefined when the message has outlived its lifetime. */
  next?: number;
  final: boolean;
}

export function planRetry(arrival: number, attempts: number, factor: number, lifetimeSec: number, now: number): RetryPlan {
  const expiry = arrival + lifetimeSec * 1000;
  if (now >= expiry) return { final: true };
  let next = arrival + (factor * attempts) ** 2 * 1000;
  if (next <= now) next = now + factor * 1000;
  if (next >= expiry) return { next: expiry, final: false };
  return { next, final: false };
}
