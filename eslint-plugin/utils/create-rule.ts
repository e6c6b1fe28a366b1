import { ESLintUtils, type TSESLint } from '@typescript-eslint/utils';
import type ts from 'typescript';
import { memoize } from '../../src/analysis/memoize.js';
import { isOwnModule } from '../../src/analysis/package-files.js';

/** The config a rule belongs to; every `strict` config also holds the `recommended` rules. */
export type RuleConfigName = 'recommended' | 'strict';

export interface ProxyStoreRuleDocs {
  description: string;
  recommended: RuleConfigName;
  requiresTypeChecking: true;
}

const REPOSITORY_URL = 'https://github.com/ts-proxystore/ts-proxystore';

/** The module that declares the proxy brand: no proxy type, store or helper of this package exists without it. */

/**
 * Whether the program holds this package's type declarations, which it does
 * only when some file imports the package (directly, or through a library
 * built on it). Asked once per program: every rule of every file shares the answer.
 */
const programUsesPackage = memoize((program: ts.Program): boolean =>
  program.getSourceFiles().some((file) => isOwnModule(file.fileName, 'types')),
);

const ruleCreator = ESLintUtils.RuleCreator<ProxyStoreRuleDocs>((name) => `${REPOSITORY_URL}/blob/main/docs/rules/${name}.md`);

/**
 * typescript-eslint's rule creator, plus an early exit: in a program that never
 * imports this package no value can be a proxy, so a rule registers no
 * listeners and costs nothing per node. Without type information the rule's
 * own `getParserServices` call reports the missing configuration as before.
 */
export const createRule: typeof ruleCreator = (rule) =>
  ruleCreator({
    ...rule,
    create(context, options) {
      const { program } = ESLintUtils.getParserServices(context, true);
      if (program !== null && !programUsesPackage(program)) return {} satisfies TSESLint.RuleListener;
      return rule.create(context, options);
    },
  });
