/**
 * Minimal globs for the `exclude` option: `**` spans directories, `*` and `?`
 * stay within one path segment. Paths are relative to the project directory,
 * with forward slashes, e.g. "src/generated/**". node:path's matchesGlob is
 * not stable on every Node this package supports.
 */
export function compileGlobs(globs: readonly string[]): (relativePath: string) => boolean {
  if (globs.length === 0) return () => false;
  const patterns = globs.map(globToRegExp);
  return (relativePath) => patterns.some((pattern) => pattern.test(relativePath));
}

function globToRegExp(glob: string): RegExp {
  const source = glob.replace(/^\.\//, '');
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i);
    if (c === '*' && source[i + 1] === '*') {
      // `**/` matches zero or more whole directories; a trailing `**` matches everything below.
      const slash = source[i + 2] === '/';
      out += slash ? '(?:[^/]*/)*' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
