/**
 * Links between the docs resolve: every relative Markdown link in README.md,
 * docs/ and examples/ names a file or folder of the repository, and a link
 * with an anchor into a Markdown file names one of that file's headings
 * (GitHub's anchors). Pages move; a link left pointing where a page was
 * would otherwise only show up as a 404 for a reader.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdownFiles, repoRoot } from './helpers/doc-blocks.js';

/** Fenced blocks and HTML comments hold code, not links. */
const NOT_PROSE = /^```[\s\S]*?^```[ \t]*$|<!--[\s\S]*?-->/gm;
/** `[text](target)` and `![alt](target)`; a title after the target is allowed. */
const LINK = /!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
/** Links that leave the repository. */
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

interface Link {
  readonly doc: string;
  readonly target: string;
}

function linksOf(doc: string): Link[] {
  const prose = readFileSync(path.join(repoRoot, doc), 'utf8').replace(NOT_PROSE, '');
  return [...prose.matchAll(LINK)].map((match) => ({ doc, target: match[1] as string })).filter(({ target }) => !EXTERNAL.test(target));
}

/** The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(NOT_PROSE, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = (heading as string)
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

const links = markdownFiles().flatMap(linksOf);

describe('relative links in the docs resolve', () => {
  it('there are links to check, in README.md and docs/', () => {
    expect(links.some((l) => l.doc === 'README.md')).toBe(true);
    expect(links.filter((l) => l.doc.startsWith('docs')).length).toBeGreaterThan(20);
  });

  for (const { doc, target } of links) {
    it(`${doc} → ${target}`, () => {
      const [file = '', anchor] = target.split('#');
      const resolved = file === '' ? path.join(repoRoot, doc) : path.resolve(repoRoot, path.dirname(doc), decodeURIComponent(file));
      expect(path.relative(repoRoot, resolved).startsWith('..'), `${target} leaves the repository`).toBe(false);
      expect(existsSync(resolved), `${target} names no file`).toBe(true);
      if (anchor === undefined) return;
      expect(statSync(resolved).isFile() && resolved.endsWith('.md'), `${target}: an anchor needs a Markdown file`).toBe(true);
      expect([...anchorsOf(resolved)], `${target}: no such heading`).toContain(decodeURIComponent(anchor));
    });
  }
});
