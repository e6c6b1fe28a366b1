import { ESLintUtils } from '@typescript-eslint/utils';

/** The config a rule belongs to; every `strict` config also holds the `recommended` rules. */
export type RuleConfigName = 'recommended' | 'strict';

export interface ProxyStoreRuleDocs {
  description: string;
  recommended: RuleConfigName;
  requiresTypeChecking: true;
}

const REPOSITORY_URL = 'https://github.com/ts-proxystore/ts-proxystore';

export const createRule = ESLintUtils.RuleCreator<ProxyStoreRuleDocs>(
  (name) => `${REPOSITORY_URL}/blob/main/docs/rules/${name}.md`,
);
