/**
 * Reading the transformer's output back: where it wrapped arguments, where the
 * fixtures say it should have (markers in their sources), and the output with
 * the wrapping removed, which must equal plain tsc's byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';

interface WrapSite {
  readonly fn: 'autoProxy' | 'autoProxyEach';
  /** `src/file.ts:line:column` of the wrapped argument. */
  readonly site: string;
  readonly threshold: number;
  readonly store: string | undefined;
}

export interface Unwrapped {
  /** The file with the runtime import and every wrapper call removed. */
  readonly text: string;
  readonly sites: readonly WrapSite[];
  /** The runtime import statements found, as written. */
  readonly imports: readonly string[];
}

const IMPORT = /^(?:import \* as (__proxystore(?:_\d+)?) from "ts-proxystore\/auto-proxy";|const (__proxystore(?:_\d+)?) = require\("ts-proxystore\/auto-proxy"\);)\n/gm;

export function unwrap(js: string): Unwrapped {
  const imports: string[] = [];
  const bindings = new Set<string>();
  let text = js.replace(IMPORT, (line: string, esm: string | undefined, cjs: string | undefined) => {
    imports.push(line.trimEnd());
    bindings.add((esm ?? cjs) as string);
    return '';
  });
  const sites: WrapSite[] = [];
  for (const binding of bindings) {
    const call = new RegExp(`${binding}\\.(autoProxy|autoProxyEach)\\(`);
    for (let match = call.exec(text); match !== null; match = call.exec(text)) {
      const open = match.index + match[0].length - 1;
      const [argumentEnd, close] = argumentBounds(text, open);
      const rest = JSON.parse(`[${text.slice(argumentEnd + 1, close)}]`) as [string, number, string?];
      sites.push({ fn: match[1] as WrapSite['fn'], site: rest[0], threshold: rest[1], store: rest[2] });
      text = text.slice(0, match.index) + text.slice(open + 1, argumentEnd) + text.slice(close + 1);
    }
  }
  return { text, sites, imports };
}

/** Index of the comma ending the first argument of the call opened at `open`, and of its closing parenthesis. */
function argumentBounds(text: string, open: number): [number, number] {
  let depth = 0;
  let firstComma = -1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') i = skipString(text, i);
    else if (c === '/' && text[i + 1] === '*') i = text.indexOf('*/', i) + 1;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (--depth === 0) return [firstComma, i];
    } else if (c === ',' && depth === 1 && firstComma === -1) firstComma = i;
  }
  throw new Error(`unbalanced wrapper call at ${open}`);
}

function skipString(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  throw new Error(`unterminated string at ${start}`);
}

/**
 * Sites the fixture sources mark: `/*@wrap*\/ arg` expects `autoProxy(arg)`,
 * `/*@each*\/ ...args` or `/*@each*\/ items` expects `autoProxyEach`.
 */
export function markedSites(projectDir: string, marker: 'wrap' | 'each' | 'diag' | 'native'): string[] {
  const sites: string[] = [];
  for (const file of sourceFiles(path.join(projectDir, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    const relative = path.relative(projectDir, file).replaceAll('\\', '/');
    for (const match of text.matchAll(new RegExp(`/\\*@${marker}\\*/\\s*(?:\\.\\.\\.)?`, 'g'))) {
      sites.push(`${relative}:${lineAndColumn(text, match.index + match[0].length)}`);
    }
  }
  return sites.sort();
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.[cm]?ts$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** 1-based, as compilers print positions. */
export function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before[before.length - 1] as string).length + 1}`;
}
