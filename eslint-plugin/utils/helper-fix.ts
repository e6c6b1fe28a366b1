/**
 * Suggestion fixes that wrap an expression in one of this package's helpers
 * (`extract(x)`, `encodeProxies(x)`), importing the helper when the file does
 * not have it yet.
 */
import { AST_NODE_TYPES, ASTUtils, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { isOwnSymbol } from '../../src/analysis/declaration-site.js';
import { isOwnModule, PACKAGE_NAME } from '../../src/analysis/package-files.js';
import type { TypedRuleTools } from './typed-rule.js';

export type PackageHelper = 'extract' | 'encodeProxies';

type HelperState = { kind: 'in-scope' } | { kind: 'import'; fix: (fixer: TSESLint.RuleFixer) => TSESLint.RuleFix } | { kind: 'shadowed' };

function importsPackageIndex(declaration: TSESTree.ImportDeclaration, tools: TypedRuleTools): boolean {
  const module = tools.services.getSymbolAtLocation(declaration.source);
  const file = module?.valueDeclaration?.getSourceFile();
  return file !== undefined && isOwnModule(file.fileName, 'entry');
}

function addImport(program: TSESTree.Program, helper: PackageHelper, tools: TypedRuleTools): HelperState {
  const imports = program.body.filter((node) => node.type === AST_NODE_TYPES.ImportDeclaration);
  const fromPackage = imports.filter((node) => importsPackageIndex(node, tools));
  const extendable = fromPackage.find(
    (node) => node.importKind === 'value' && node.specifiers.some((spec) => spec.type === AST_NODE_TYPES.ImportSpecifier),
  );
  const lastSpecifier = extendable?.specifiers.at(-1);
  if (lastSpecifier !== undefined) {
    return { kind: 'import', fix: (fixer) => fixer.insertTextAfter(lastSpecifier, `, ${helper}`) };
  }
  // Reuse how the file already names the package (a relative path inside this repo, the package name elsewhere).
  const source = fromPackage[0]?.source.raw ?? `'${PACKAGE_NAME}'`;
  const statement = `import { ${helper} } from ${source};`;
  const anchor = imports.at(-1);
  return {
    kind: 'import',
    fix: (fixer) =>
      anchor === undefined ? fixer.insertTextBeforeRange([0, 0], `${statement}\n`) : fixer.insertTextAfter(anchor, `\n${statement}`),
  };
}

function helperState(node: TSESTree.Node, helper: PackageHelper, tools: TypedRuleTools): HelperState {
  const variable = ASTUtils.findVariable(tools.sourceCode.getScope(node), helper);
  const definition = variable?.defs[0];
  if (definition === undefined) return addImport(tools.sourceCode.ast, helper, tools);
  const symbol = tools.services.getSymbolAtLocation(definition.name);
  return symbol !== undefined && isOwnSymbol(symbol, tools.checker) ? { kind: 'in-scope' } : { kind: 'shadowed' };
}

export const helperMessages = {
  useExtract: 'Pass the target itself: `extract(…)`.',
  useEncodeProxies: 'Send references on purpose: `encodeProxies(…)`.',
} as const;

export type HelperMessageId = keyof typeof helperMessages;

const MESSAGE_FOR: Record<PackageHelper, HelperMessageId> = { extract: 'useExtract', encodeProxies: 'useEncodeProxies' };

/** `extract` takes a proxy: wrapping a maybe-proxy (`Proxy<T> | undefined`) would not type-check. */
function fitsHelper(node: TSESTree.Expression, helper: PackageHelper, tools: TypedRuleTools): boolean {
  if (helper !== 'extract') return true;
  const type = tools.services.getTypeAtLocation(node);
  return (type.isUnion() ? type.types : [type]).every((member) => tools.proxies.isProxy(member));
}

/**
 * One suggestion per helper that fits the expression. A helper whose name is
 * taken by something else in scope is left out: wrapping would call the wrong function.
 */
export function helperSuggestions(
  tools: TypedRuleTools,
  node: TSESTree.Expression,
  helpers: readonly PackageHelper[],
): TSESLint.SuggestionReportDescriptor<HelperMessageId>[] {
  return helpers.flatMap((helper) => {
    if (!fitsHelper(node, helper, tools)) return [];
    const state = helperState(node, helper, tools);
    if (state.kind === 'shadowed') return [];
    const wrapped = `${helper}(${tools.sourceCode.getText(node)})`;
    const fix: TSESLint.ReportFixFunction = (fixer) => {
      const wrap = fixer.replaceText(node, wrapped);
      return state.kind === 'import' ? [state.fix(fixer), wrap] : [wrap];
    };
    return [{ messageId: MESSAGE_FOR[helper], fix }];
  });
}
