/** Unified diffs of whole files, for `--dry-run`: what a command would write, shown before it writes anything. */

const CONTEXT = 2;

/** Longest common subsequence table of two line lists, read backwards into edit operations. */
function operations(before: readonly string[], after: readonly string[]): { kind: ' ' | '-' | '+'; line: string }[] {
  const rows = before.length + 1;
  const columns = after.length + 1;
  const table = new Uint32Array(rows * columns);
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      table[i * columns + j] =
        before[i] === after[j] ? (table[(i + 1) * columns + j + 1] ?? 0) + 1 : Math.max(table[(i + 1) * columns + j] ?? 0, table[i * columns + j + 1] ?? 0);
    }
  }
  const out: { kind: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && before[i] === after[j]) {
      out.push({ kind: ' ', line: before[i++] ?? '' });
      j++;
    } else if (i < before.length && (j === after.length || (table[(i + 1) * columns + j] ?? 0) >= (table[i * columns + j + 1] ?? 0))) {
      // Removals before additions, as diff(1) shows a changed line.
      out.push({ kind: '-', line: before[i++] ?? '' });
    } else {
      out.push({ kind: '+', line: after[j++] ?? '' });
    }
  }
  return out;
}

/** `--- a/file`, `+++ b/file` and hunks with two lines of context; empty when nothing changes. */
export function unifiedDiff(file: string, before: string | undefined, after: string): string {
  if (before === after) return '';
  const old = before === undefined ? [] : before.split('\n');
  const ops = operations(old, after.split('\n'));
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter((index) => index >= 0);
  const lines = [`--- ${before === undefined ? '/dev/null' : `a/${file}`}`, `+++ b/${file}`];
  let start = 0;
  while (start < changed.length) {
    let end = start;
    while (end + 1 < changed.length && (changed[end + 1] ?? 0) - (changed[end] ?? 0) <= CONTEXT * 2 + 1) end++;
    const from = Math.max(0, (changed[start] ?? 0) - CONTEXT);
    const to = Math.min(ops.length, (changed[end] ?? 0) + CONTEXT + 1);
    const oldStart = ops.slice(0, from).filter((op) => op.kind !== '+').length + 1;
    const newStart = ops.slice(0, from).filter((op) => op.kind !== '-').length + 1;
    const hunk = ops.slice(from, to);
    lines.push(`@@ -${oldStart},${hunk.filter((op) => op.kind !== '+').length} +${newStart},${hunk.filter((op) => op.kind !== '-').length} @@`);
    lines.push(...hunk.map((op) => `${op.kind}${op.line}`));
    start = end + 1;
  }
  return `${lines.join('\n')}\n`;
}
