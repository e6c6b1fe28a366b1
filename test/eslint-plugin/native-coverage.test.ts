/**
 * `no-proxy-to-native` against the built-ins themselves: every function,
 * method and constructor declared in TypeScript's lib files and @types/node
 * (as the fixture project loads them: ES2023, DOM, Node) with a parameter whose
 * declared type needs the real object is called with a proxy in that
 * parameter, and the rule must report each such call. The signatures come from
 * walking the declaration files with the TypeScript API, not from a list.
 */
import { join } from 'node:path';
import { Linter } from 'eslint';
import ts from 'typescript';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import plugin from '../../eslint-plugin/index.js';
import { nativeTypes } from '../../src/analysis/native-types.js';
import { FIXTURE_DIR, FIXTURE_FILE, IMPORTS, parserOptions } from './rule-tester.js';

const FILE = join(FIXTURE_DIR, FIXTURE_FILE);
const HELPERS = `${IMPORTS}\ndeclare function proxyOf<T>(): Proxy<T>;\ndeclare function valueOf<T>(): T;\n`;

type Callable = ts.FunctionDeclaration | ts.MethodSignature | ts.MethodDeclaration | ts.ConstructSignatureDeclaration | ts.ConstructorDeclaration;

interface Candidate {
  readonly declaration: Callable;
  readonly index: number;
  readonly label: string;
}

/** A program of the fixture project whose file.ts holds `code`. */
function fixtureProgram(code: string): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(join(FIXTURE_DIR, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (config === undefined) throw new Error('fixture tsconfig.json did not parse');
  const host = ts.createCompilerHost(config.options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language) => (name === FILE ? ts.createSourceFile(name, code, language) : read(name, language));
  return ts.createProgram([FILE], config.options, host);
}

const isCallable = (node: ts.Node): node is Callable =>
  ts.isFunctionDeclaration(node) || ts.isMethodSignature(node) || ts.isMethodDeclaration(node) || ts.isConstructSignatureDeclaration(node) || ts.isConstructorDeclaration(node);

/** Every built-in callable with a parameter whose declared type, by itself, needs the real object. */
function builtInCandidates(program: ts.Program): Candidate[] {
  const checker = program.getTypeChecker();
  const natives = nativeTypes(ts, program);
  const found: Candidate[] = [];
  for (const file of program.getSourceFiles()) {
    if (!natives.isBuiltIn(file)) continue;
    const visit = (node: ts.Node): void => {
      if (isCallable(node)) {
        node.parameters.forEach((parameter, index) => {
          if (parameter.dotDotDotToken !== undefined) return;
          const declared = checker.getTypeAtLocation(parameter);
          // A parameter typed by a type parameter takes the argument's own type: `proxyOf()` has nothing to infer from.
          if (checker.getNonNullableType(declared).flags & ts.TypeFlags.TypeParameter || natives.typeNeed(declared) === undefined) return;
          found.push({ declaration: node, index, label: `${file.fileName.replace(/.*node_modules\//, '')}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1} #${index}` });
        });
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return found;
}

/** How the generated code reaches a declaration: the import it needs and the expression that names its container. */
function containerPath(declaration: Callable, imports: Map<string, string>): string[] | undefined {
  const path: string[] = [];
  for (let node: ts.Node = declaration.parent; !ts.isSourceFile(node); node = node.parent) {
    if (ts.isModuleBlock(node)) continue;
    if (ts.isModuleDeclaration(node)) {
      if (ts.isStringLiteral(node.name)) {
        let alias = imports.get(node.name.text);
        if (alias === undefined) imports.set(node.name.text, (alias = `m${imports.size}`));
        return [alias, ...path];
      }
      if (node.name.text !== 'global') path.unshift(node.name.text);
      continue;
    }
    const declaresValue = ts.isTypeLiteralNode(node) || ts.isVariableDeclaration(node) || ts.isVariableDeclarationList(node) || ts.isVariableStatement(node);
    if (!ts.isInterfaceDeclaration(node) && !ts.isClassDeclaration(node) && !declaresValue) return undefined;
  }
  return path;
}

/** A statement calling the candidate with a proxy at its index and neutral values elsewhere, or undefined if it cannot be spelled. */
function callFor({ declaration, index }: Candidate, n: number, imports: Map<string, string>): string | undefined {
  const owner = declaration.parent;
  const scope = containerPath(declaration, imports);
  if (scope === undefined) return undefined;
  const count = Math.max(index + 1, declaration.parameters.filter((p) => p.questionToken === undefined && p.initializer === undefined && p.dotDotDotToken === undefined).length);
  const args = Array.from({ length: count }, (_, i) => (i === index ? 'proxyOf()' : 'valueOf()')).join(', ');
  const name = declaration.name !== undefined && (ts.isIdentifier(declaration.name) || ts.isStringLiteral(declaration.name)) ? declaration.name.text : undefined;
  const qualified = (last: string): string => [...scope, last].join('.');
  if (ts.isFunctionDeclaration(declaration)) return name === undefined ? undefined : `${qualified(name)}(${args});`;
  // `declare var Blob: { new (…): Blob; … }`: the variable is the constructor.
  if (ts.isTypeLiteralNode(owner) && ts.isVariableDeclaration(owner.parent) && ts.isIdentifier(owner.parent.name)) {
    const variable = qualified(owner.parent.name.text);
    if (ts.isConstructSignatureDeclaration(declaration)) return `new ${variable}(${args});`;
    return name === undefined ? undefined : `${variable}.${name}(${args});`;
  }
  if (!ts.isInterfaceDeclaration(owner) && !ts.isClassDeclaration(owner)) return undefined;
  const ownerName = owner.name?.text;
  if (ownerName === undefined) return undefined;
  const typeArgs = owner.typeParameters === undefined ? '' : `<${owner.typeParameters.map(() => 'any').join(', ')}>`;
  const receiverType = `${qualified(ownerName)}${typeArgs}`;
  const isStatic = ts.canHaveModifiers(declaration) && ts.getModifiers(declaration)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword) === true;
  if (ts.isConstructorDeclaration(declaration)) return `new ${qualified(ownerName)}(${args});`;
  if (ts.isConstructSignatureDeclaration(declaration)) return `declare const r${n}: ${receiverType}; new r${n}(${args});`;
  if (name === undefined) return undefined;
  if (isStatic) return `${qualified(ownerName)}.${name}(${args});`;
  return `declare const r${n}: ${receiverType}; r${n}.${name}(${args});`;
}

/** The declaration's file and offset: the two programs parse the lib files separately. */
const placeOf = (node: ts.Node): string => `${node.getSourceFile().fileName}:${node.pos}`;

describe('no-proxy-to-native covers the built-ins', () => {
  it('reports a proxy in every lib and @types/node parameter typed as a built-in that needs the real object', () => {
    const candidates = builtInCandidates(fixtureProgram(HELPERS));
    const imports = new Map<string, string>();
    const calls = candidates.map((candidate, n) => ({ candidate, statement: callFor(candidate, n, imports) }));
    const spelled = calls.filter((call): call is { candidate: Candidate; statement: string } => call.statement !== undefined);
    const header = `${HELPERS}${[...imports].map(([module, alias]) => `import * as ${alias} from '${module}';`).join('\n')}\n`;
    const firstLine = header.split('\n').length;
    const code = `${header}${spelled.map((call) => call.statement).join('\n')}\n`;

    // Which generated calls type-check and resolve to the very declaration they were written for.
    const program = fixtureProgram(code);
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(FILE);
    if (source === undefined) throw new Error('no file.ts in the program');
    // A call that does not type-check (a generic parameter `proxyOf()` cannot infer) says nothing about the rule.
    const broken = new Set(program.getSemanticDiagnostics(source).map((d) => source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1));
    const landed = new Set<number>();
    const visit = (node: ts.Node): void => {
      if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments?.some((a) => a.getText() === 'proxyOf()') === true) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        const call = spelled[line - firstLine];
        const resolved = checker.getResolvedSignature(node)?.declaration;
        if (call !== undefined && !broken.has(line) && resolved !== undefined && placeOf(resolved) === placeOf(call.candidate.declaration)) landed.add(line);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);

    const linter = new Linter({ configType: 'flat' });
    const messages = linter.verify(
      code,
      [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser, parserOptions }, plugins: { 'ts-proxystore': plugin }, rules: { 'ts-proxystore/no-proxy-to-native': 'error' } }],
      FILE,
    );
    const fatal = messages.filter((message) => message.fatal === true);
    expect(fatal).toEqual([]);
    const reported = new Set(messages.map((message) => message.line));
    const missed = [...landed].filter((line) => !reported.has(line)).map((line) => `${spelled[line - firstLine]?.candidate.label}: ${spelled[line - firstLine]?.statement}`);

    expect(missed).toEqual([]);
    // The enumeration finds the built-ins the issue names, and most calls land on their declaration.
    expect(candidates.length).toBeGreaterThan(600);
    expect(landed.size).toBeGreaterThan(candidates.length / 2);
    const labels = (line: number): string => spelled[line - firstLine]?.statement ?? '';
    for (const expected of [/\.decode\(proxyOf\(\)/, /new Blob\(/, /encodeInto\(valueOf\(\), proxyOf\(\)\)/, /\.update\(proxyOf\(\)/, /writeFileSync\(/]) {
      expect([...landed].some((line) => expected.test(labels(line))), String(expected)).toBe(true);
    }
  });
});
