/**
 * Code blocks of the project's Markdown, as the docs tests read them. A block
 * right after `<!-- example: path -->` must be that file of the repository,
 * verbatim; one after `<!-- file: path -->` is that file of a user's project
 * (tests write it there as it is); a document's `<!-- prelude … -->` comment
 * holds the declarations its other blocks assume.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export interface DocBlock {
  /** Repository-relative path of the Markdown file. */
  readonly doc: string;
  /** 1-based line of the block's first code line in the Markdown file. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** The examples/ file the block shows, when it shows one. */
  readonly example: string | undefined;
  /** The file of a user's project the block is, when it is one. */
  readonly file: string | undefined;
}

const BLOCK = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;
const MARKER = /<!--\s*(example|file):\s*(\S+)\s*-->\s*$/;
const PRELUDE = /<!--\s*prelude\b[^\n]*\n([\s\S]*?)-->/;

/** README.md, every Markdown file under docs/ and examples/. */
export function markdownFiles(): string[] {
  const under = (dir: string): string[] =>
    readdirSync(path.join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.md'))
      .map((file) => path.join(dir, file));
  return ['README.md', ...under('docs'), ...under('examples')].sort();
}

export function blocksOf(doc: string): DocBlock[] {
  const text = readFileSync(path.join(repoRoot, doc), 'utf8');
  return [...text.matchAll(BLOCK)].map((match) => {
    const before = text.slice(0, match.index);
    const marker = MARKER.exec(before);
    return {
      doc,
      line: before.split('\n').length + 1,
      lang: match[1] ?? '',
      code: match[2] ?? '',
      example: marker?.[1] === 'example' ? marker[2] : undefined,
      file: marker?.[1] === 'file' ? marker[2] : undefined,
    };
  });
}

export function preludeOf(doc: string): string {
  return PRELUDE.exec(readFileSync(path.join(repoRoot, doc), 'utf8'))?.[1] ?? '';
}

/** The block marked `<!-- example: name -->` or `<!-- file: name -->`. */
export function markedBlock(doc: string, marker: 'example' | 'file', name: string): DocBlock {
  const block = blocksOf(doc).find((b) => b[marker] === name);
  if (block === undefined) throw new Error(`${doc} has no block marked <!-- ${marker}: ${name} -->`);
  return block;
}
