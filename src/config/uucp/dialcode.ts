// The `dialcode` file: abbreviations a phone number may start with.
import { parsePairs } from './lines.js';

/** Taylor's `dialcode` file: `CODE digits` lines (\T turns phone `NY5551234` into the digits for NY + 5551234). */
export const parseDialcodeFile = (text: string, file: string): Map<string, string> =>
  parsePairs(text, file, (code) => `missing the digits for dialcode "${code}"`);
