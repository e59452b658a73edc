// Path containment: the one rule every file name built from outside input
// (a local part, a remote UUCP path) is held to before it is opened.
import path from 'node:path';

/** True when `child` is `dir` itself or lies below it, after resolving `.` and `..`. */
export function within(dir: string, child: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(child));
  return rel === '' || (rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel));
}

/** True when `child` lies strictly below `dir`. */
export function strictlyWithin(dir: string, child: string): boolean {
  return within(dir, child) && path.resolve(dir) !== path.resolve(child);
}
