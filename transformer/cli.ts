#!/usr/bin/env node
/**
 * ts-proxystore-tsc: emits a tsconfig project with the autoProxy transform
 * through the TypeScript 6 API, for projects whose `tsc` is TypeScript 7 (no
 * transformer API) or that do not want ts-patch. It does not type-check; run
 * `tsc --noEmit` (any version) for that.
 *
 *   ts-proxystore-tsc [-p tsconfig.json] [--typescript <module>]
 *
 * Exits 1 when an error is reported (including diagnostics set to 'error'),
 * else 0: unlike tsc, warnings do not fail the build.
 */
import { parseArgs } from 'node:util';
import { Project } from './project.js';

function main(): number {
  const { values } = parseArgs({
    options: {
      project: { type: 'string', short: 'p', default: 'tsconfig.json' },
      typescript: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write('Usage: ts-proxystore-tsc [-p tsconfig.json] [--typescript <module with the TypeScript 6 API>]\n');
    return 0;
  }
  const project = new Project({ tsconfig: values.project, ...(values.typescript === undefined ? {} : { typescript: values.typescript }) });
  const { ts } = project;
  const { diagnostics } = project.emit();
  const all = [...project.configDiagnostics, ...diagnostics];
  if (all.length > 0) {
    const host = { getCanonicalFileName: (name: string) => name, getCurrentDirectory: () => process.cwd(), getNewLine: () => ts.sys.newLine };
    const format = process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
    process.stdout.write(format(all, host));
  }
  return all.some((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error) ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
