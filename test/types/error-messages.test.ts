/**
 * What a user reads when a proxy is misused, and what an editor shows on hover:
 * both must name `Proxy<…>` (or the ownership alias), not an expanded intersection.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const fixtureDir = path.join(root, 'test/types/fixtures/misuse');
const fixtureFile = path.join(fixtureDir, 'misuse.ts');
const fixtureConfig = path.join(fixtureDir, 'tsconfig.json');

const compilers = [
  { version: '6.0', bin: 'node_modules/typescript/bin/tsc' },
  { version: '5.9', bin: 'node_modules/typescript5/bin/tsc' },
  { version: '7.0', bin: 'node_modules/typescript7/bin/tsc' },
];

/** Keyed by the statement rather than a line number, so that editing the fixture's header does not break the test. */
const expected = [
  { statement: 'foo.label', text: "Property 'label' does not exist on type 'Proxy<Foo>'." },
  { statement: 'takesBar(foo)', text: "Argument of type 'Proxy<Foo>' is not assignable to parameter of type 'Proxy<Bar>'." },
  { statement: 'borrowed.push(1)', text: "Property 'push' does not exist on type 'RefProxy<number[]>'." },
  // TS 5.9 and 6.0 drop the "not assignable" head for missing members and print the structure; the brand still shows.
  { statement: 'sorted: number[] = borrowed', text: "'readonly number[] & ProxyBrand<readonly number[]> & OwnershipTag<\"ref\"> & Disposable' is missing the following properties from type 'number[]'" },
];

const fixtureLines = readFileSync(fixtureFile, 'utf8').split('\n');
const lineOf = (statement: string): number => fixtureLines.findIndex((line) => line.includes(statement)) + 1;

interface Diagnostic {
  line: number;
  text: string;
}

/** Groups `--pretty false` output into diagnostics: a located first line plus its indented elaboration. */
function parseDiagnostics(output: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const located = /^(.+)\((\d+),\d+\): error TS\d+: (.*)$/.exec(line);
    if (located !== null) diagnostics.push({ line: Number(located[2]), text: located[3] ?? '' });
    else if (line.startsWith(' ') && diagnostics.length > 0) diagnostics[diagnostics.length - 1]!.text += `\n${line.trim()}`;
  }
  return diagnostics;
}

async function compileFixture(bin: string): Promise<{ code: number; output: string }> {
  try {
    await promisify(execFile)(process.execPath, [bin, '-p', fixtureConfig, '--pretty', 'false'], { cwd: root });
    return { code: 0, output: '' };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe.concurrent('compiler errors on proxy misuse name the proxy type', () => {
  it.each(compilers)('TypeScript $version', async ({ bin }) => {
    const { code, output } = await compileFixture(bin);
    expect(code, output).not.toBe(0);
    const diagnostics = parseDiagnostics(output);
    expect(diagnostics.map((d) => d.line), output).toEqual(expected.map((e) => lineOf(e.statement)));
    for (const [i, { text }] of expected.entries()) expect(diagnostics[i]?.text).toContain(text);
  });
});

describe('types as an editor shows them (TypeScript 6 compiler API)', () => {
  let checker: ts.TypeChecker;
  const declarations = new Map<string, ts.Declaration>();

  beforeAll(() => {
    const parsed = ts.getParsedCommandLineOfConfigFile(fixtureConfig, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    if (parsed === undefined) throw new Error(`cannot read ${fixtureConfig}`);
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    checker = program.getTypeChecker();
    const collect = (node: ts.Node): void => {
      if ((ts.isVariableDeclaration(node) || ts.isParameter(node)) && ts.isIdentifier(node.name)) declarations.set(node.name.text, node);
      ts.forEachChild(node, collect);
    };
    collect(program.getSourceFile(fixtureFile)!);
  });

  const typeOf = (name: string): ts.Type => {
    const declaration = declarations.get(name);
    if (declaration === undefined) throw new Error(`the fixture declares no '${name}'`);
    return checker.getTypeAtLocation(declaration);
  };
  const declaredIn = (symbol: ts.Symbol | undefined): string | undefined => symbol?.declarations?.[0]?.getSourceFile().fileName;

  it('prints Proxy<Foo>, RefProxy<number[]> and ProxyOr<Foo>', () => {
    expect(checker.typeToString(typeOf('foo'))).toBe('Proxy<Foo>');
    expect(checker.typeToString(typeOf('borrowed'))).toBe('RefProxy<number[]>');
    expect(checker.typeToString(typeOf('either'))).toBe('ProxyOr<Foo>');
  });

  it('lets tools find ProxyOr and the brand by symbol, not by text', () => {
    const either = typeOf('either');
    expect(either.aliasSymbol?.name).toBe('ProxyOr');
    expect(declaredIn(either.aliasSymbol)).toBe(path.join(root, 'src/types.ts'));
    const brand = checker.getPropertiesOfType(typeOf('foo')).find((property) => {
      const owner = property.valueDeclaration?.parent;
      return owner !== undefined && ts.isInterfaceDeclaration(owner) && owner.name.text === 'ProxyBrand';
    });
    expect(declaredIn(brand)).toBe(path.join(root, 'src/types.ts'));
  });
});
