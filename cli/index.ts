#!/usr/bin/env node
/**
 * The `ts-proxystore` command. Arguments are read with Node's own `parseArgs`,
 * so the package needs no argument-parser dependency at run time.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { packageInfo } from '../src/analysis/package-files.js';
import { annotateCommand } from './annotate-command.js';
import { CliError } from './errors.js';
import { setup } from './setup.js';

/** What `ts-proxystore <command> --help` prints, and the general help lists. */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  setup: `  setup [--dry-run] [--cwd <dir>] [--project <tsconfig>]
      Install the ts-patch that matches the project's TypeScript, add "prepare": "ts-patch install",
      the transformer and language-service plugins to tsconfig.json, and the lint rules to the ESLint config.
`,
  annotate: `  annotate [files…] [--dry-run] [--cwd <dir>] [--function <name>]… [--fix-natives] [--project <tsconfig>]
      Widen the object-typed parameters of task functions (tables given to defineTasks, functions
      handed to submit/map) and of the named functions to ProxyOr<T>; with --fix-natives, wrap the
      uses a proxy cannot stand in for in extract(…). Needs ts-morph, beside ts-proxystore or in the project.
`,
};

const OPTIONS = `Options:
  --dry-run   print the changes as a diff instead of making them
  --help, --version
`;

const USAGE = `Usage: ts-proxystore <command> [options]

Commands:
${COMMAND_USAGE.setup}${COMMAND_USAGE.annotate}  store <ls|stats|get|evict|clear> --config <json or file>
      Look into a store from its config: list keys with sizes and ages, totals, one object's type
      and size, evict one, clear all (ts-proxystore store --help).

${OPTIONS}`;

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      cwd: { type: 'string', default: '.' },
      project: { type: 'string', short: 'p', default: 'tsconfig.json' },
      function: { type: 'string', multiple: true, default: [] },
      'fix-natives': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'v', default: false },
    },
  });
  const [command, ...files] = positionals;
  if (values.version) return log(packageInfo().version);
  if (values.help || command === undefined) {
    return log(command !== undefined && Object.hasOwn(COMMAND_USAGE, command) ? `Usage: ts-proxystore\n${COMMAND_USAGE[command]}\n${OPTIONS}` : USAGE);
  }
  const cwd = resolve(values.cwd);
  if (command === 'setup') {
    if (files.length > 0) throw new CliError(`setup takes no files (got ${files.join(' ')})`);
    return setup({ cwd, project: values.project, dryRun: values['dry-run'], log });
  }
  if (command === 'annotate') {
    return annotateCommand({ cwd, project: values.project, files, functions: values.function, fixNatives: values['fix-natives'], dryRun: values['dry-run'], log });
  }
  throw new CliError(`unknown command '${command}'\n\n${USAGE}`);
}

const argv = process.argv.slice(2);
try {
  // `store` has options of its own (--config, --json, --yes) and its own exit codes.
  // Loaded only for `store`: setup and annotate run in projects that have no runtime dependencies installed yet.
  if (argv[0] === 'store') process.exitCode = await (await import('../runtime/observe/store-cli.js')).storeCommand(argv.slice(1));
  else await main(argv);
} catch (error) {
  // Mistakes in the arguments are usage errors too: say so, without a stack.
  const usage = error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
  if (!(error instanceof CliError) && !usage) throw error;
  process.stderr.write(`ts-proxystore: ${(error).message}\n`);
  process.exitCode = 1;
}
