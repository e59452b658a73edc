// A slow serial line for benchmarks: now test/helpers/noisy-line.ts (one
// implementation of pacing, delay and line damage); these names stay for the
// benches that use them. ptyLine(root, { rate, delayMs }) gives two socat ptys,
// root/lineX and root/lineY, joined at `rate` bytes/s each way (115200 bit/s
// 8N1 = 11,520 B/s) with `delayMs` one way.
export { noisyPtyLine as ptyLine, startNoisyRelay as startRelay, type NoisyLineOptions as LineOptions } from '../test/helpers/noisy-line.js';
