/**
 * The transform without ts-patch, through the TypeScript 6 API: for TypeScript 7
 * users, whose Go compiler has no transformer API (tsc 7 type-checks, this
 * emits), and for bundlers. Shared by the CLI and the bundler plugin.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as ts from 'typescript';
import { ConfigError } from '../runtime/errors.js';
import { resolveOptions, type ResolvedOptions, type TransformerOptions } from './options.js';
import { createTransformerFactory } from './rewrite.js';
import type { TypeScript } from './typescript-api.js';

/** Where TypeScript's API is looked for: a TypeScript 7 install keeps no API under `typescript`, so its TS 6 companion comes next. */
const TYPESCRIPT_MODULES = ['typescript', '@typescript/typescript6'];
const PLUGIN_NAME = 'ts-proxystore/transformer';

/** Loads a TypeScript that has the compiler API (6.x or 5.x), from the project's point of view. */
function loadTypeScript(projectDir: string, specifier?: string): TypeScript {
  const require = createRequire(path.join(projectDir, 'package.json'));
  const tried: string[] = [];
  for (const name of specifier === undefined ? TYPESCRIPT_MODULES : [specifier]) {
    try {
      const candidate = require(name) as Partial<TypeScript>;
      if (typeof candidate.createProgram === 'function') return candidate as TypeScript;
      tried.push(`${name} ${String(candidate.version)} has no compiler API`);
    } catch (error) {
      tried.push(`${name}: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  throw new ConfigError(
    `ts-proxystore: the transform needs TypeScript's compiler API (TypeScript 6 or 5). ` +
      `With TypeScript 7, install it alongside ("@typescript/typescript6") or name it with the 'typescript' option. Tried: ${tried.join('; ')}`,
  );
}

export interface EmittedFile {
  readonly code: string;
  readonly map: string | undefined;
  readonly diagnostics: readonly ts.Diagnostic[];
}

export interface ProjectSettings {
  readonly tsconfig: string;
  /** Module name of the TypeScript API to use. */
  readonly typescript?: string;
  /** Take precedence over the tsconfig plugin entry's options. */
  readonly options?: TransformerOptions;
  /** Take precedence over the tsconfig's compiler options, e.g. to get source maps for a bundler. */
  readonly compilerOptions?: ts.CompilerOptions;
}

/**
 * A tsconfig project, kept as a program that is rebuilt (incrementally) when a
 * file's text changes. Emits without type-checking: only the resolved
 * signatures at call sites are computed.
 */
export class Project {
  readonly ts: TypeScript;
  readonly #parsed: ts.ParsedCommandLine;
  readonly #host: ts.CompilerHost;
  readonly #texts = new Map<string, string>();
  readonly #options: TransformerOptions;
  /** Resolved on the first emit, then reused: its problems are reported again with each emit. */
  #resolved: { readonly options: ResolvedOptions; readonly problems: readonly string[] } | undefined;
  readonly #rootNames: ReadonlySet<string>;
  #program: ts.Program | undefined;

  constructor(settings: ProjectSettings) {
    const tsconfig = tsconfigPath(settings.tsconfig);
    this.ts = loadTypeScript(path.dirname(tsconfig), settings.typescript);
    const parsed = parseTsconfig(this.ts, tsconfig);
    const options = { ...parsed.options, ...settings.compilerOptions };
    this.#options = { ...pluginEntryOf(options), ...settings.options };
    // A TypeScript patched with `ts-patch install` applies the tsconfig's transform entries to every program it makes: without ours, the transform runs once, ours.
    this.#parsed = { ...parsed, options: withoutPluginEntry(options) };
    this.#rootNames = new Set(parsed.fileNames.map((name) => path.resolve(name)));
    this.#host = this.ts.createCompilerHost(this.#parsed.options);
    const readFile = this.#host.readFile.bind(this.#host);
    this.#host.readFile = (fileName) => this.#texts.get(path.resolve(fileName)) ?? readFile(fileName);
  }

  /** Problems in the tsconfig itself. */
  get configDiagnostics(): readonly ts.Diagnostic[] {
    return this.#parsed.errors;
  }

  /** Emits every file as configured, like `tsc -p`. */
  emit(): { diagnostics: ts.Diagnostic[] } {
    const program = this.#currentProgram();
    const diagnostics: ts.Diagnostic[] = [];
    const result = program.emit(undefined, undefined, undefined, false, { before: [this.#factory(program, diagnostics)] });
    return { diagnostics: [...diagnostics, ...result.diagnostics] };
  }

  /**
   * JS and source map for one file, as the bundler hands it over (`text` may be
   * newer than the file on disk); undefined for files outside the project.
   */
  emitFile(fileName: string, text: string): EmittedFile | undefined {
    const absolute = path.resolve(fileName);
    if (!this.#rootNames.has(absolute)) return undefined;
    let program = this.#currentProgram();
    if (program.getSourceFile(absolute)?.text !== text) {
      this.#texts.set(absolute, text);
      program = this.#currentProgram(true);
    }
    const sourceFile = program.getSourceFile(absolute);
    if (sourceFile === undefined) return undefined;
    const diagnostics: ts.Diagnostic[] = [];
    let code = '';
    let map: string | undefined;
    program.emit(
      sourceFile,
      (name, data) => {
        if (name.endsWith('.map')) map = data;
        else if (/\.[cm]?js$/.test(name)) code = data;
      },
      undefined,
      false,
      { before: [this.#factory(program, diagnostics)] },
    );
    return { code: code.replace(/\n\/\/# sourceMappingURL=.*$/, ''), map: map === undefined ? undefined : withSource(map, absolute), diagnostics };
  }

  #currentProgram(changed = false): ts.Program {
    if (this.#program === undefined || changed) {
      this.#program = this.ts.createProgram({
        rootNames: this.#parsed.fileNames,
        options: { ...this.#parsed.options, noCheck: true },
        host: this.#host,
        ...(this.#program === undefined ? {} : { oldProgram: this.#program }),
      });
    }
    return this.#program;
  }

  #factory(program: ts.Program, diagnostics: ts.Diagnostic[]): ts.TransformerFactory<ts.SourceFile> {
    const { options, problems } = (this.#resolved ??= resolveOptions(this.#options));
    return createTransformerFactory(this.ts, program, options, problems, (diagnostic) => diagnostics.push(diagnostic));
  }
}

function parseTsconfig(ts: TypeScript, tsconfig: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new ConfigError(`ts-proxystore: cannot read ${tsconfig}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
    },
  });
  if (parsed === undefined) throw new ConfigError(`ts-proxystore: cannot read ${tsconfig}`);
  return parsed;
}

type PluginEntry = TransformerOptions & { readonly transform?: unknown };

/** The tsconfig's ts-patch entry (its `transform` key is ignored like ts-patch's others), so one configuration serves tspc, the CLI and bundlers. */
function pluginEntryOf(options: ts.CompilerOptions): TransformerOptions {
  const plugins = (options.plugins ?? []) as readonly PluginEntry[];
  return plugins.find((plugin) => plugin.transform === PLUGIN_NAME) ?? {};
}

function withoutPluginEntry(options: ts.CompilerOptions): ts.CompilerOptions {
  if (options.plugins === undefined) return options;
  return { ...options, plugins: (options.plugins as readonly PluginEntry[]).filter((plugin) => plugin.transform !== PLUGIN_NAME) as ts.CompilerOptions['plugins'] };
}

/** `-p` takes a tsconfig file or, as tsc's does, a directory holding tsconfig.json. */
function tsconfigPath(given: string): string {
  const resolved = path.resolve(given);
  return fs.statSync(resolved, { throwIfNoEntry: false })?.isDirectory() === true ? path.join(resolved, 'tsconfig.json') : resolved;
}

/** Bundlers chain maps by source path: point the map at the file itself rather than at a path relative to outDir. */
function withSource(map: string, fileName: string): string {
  const parsed = JSON.parse(map) as { sources: string[]; sourceRoot?: string };
  return JSON.stringify({ ...parsed, sources: [fileName], sourceRoot: '' });
}
