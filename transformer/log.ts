/**
 * The transformer's lines in the `ts-proxystore:transformer` debug log, off
 * by default like every namespace (see runtime/support/log.ts): one per
 * argument it wrapped, and one per file with the time the file took.
 */
import type * as ts from 'typescript';
import { msSince, transformerLog } from '../runtime/support/log.js';
import type { CallPlan } from './call-sites.js';
import type { TypeScript } from './typescript-api.js';

export { msSince, transformerLog };

/** Callees longer than this are cut: a line names the call, it does not quote it. */
const CALLEE_CHARS = 60;

/**
 * Logs each argument of `call` (a parse-tree node) that `plan` wraps: its
 * site as the wrapper records it (file:line:column of the argument), the
 * callee, and the parameter it is passed to.
 */
export function logWraps(ts: TypeScript, checker: ts.TypeChecker, file: ts.SourceFile, relative: string, call: ts.CallExpression | ts.NewExpression, plan: CallPlan): void {
  const callee = call.expression.getText(file).replace(/\s+/g, ' ');
  const shown = `${ts.isNewExpression(call) ? 'new ' : ''}${callee.length > CALLEE_CHARS ? `${callee.slice(0, CALLEE_CHARS)}…` : callee}`;
  for (const wrap of plan.wraps) {
    const given = call.arguments?.[wrap.index];
    if (given === undefined) continue;
    // `f.apply(thisArg, [a, b])`: the element is f's argument, and its parameter is f's.
    const argument = wrap.element === undefined ? given : ((given as ts.ArrayLiteralExpression).elements[wrap.element] ?? given);
    const signature = wrap.element === undefined ? checker.getResolvedSignature(call) : appliedSignature(ts, checker, call);
    const at = ts.isSpreadElement(argument) ? argument.expression : argument;
    const { line, character } = file.getLineAndCharacterOfPosition(at.getStart(file));
    transformerLog('%s:%d:%d wrapped %s: argument of %s, parameter %s', relative, line + 1, character + 1, wrap.each ? 'each item' : 'the value', shown, parameterName(signature, wrap.element ?? wrap.index));
  }
}

/** The signature of `f` in `f.apply(…)` / `f.call(…)`. */
function appliedSignature(ts: TypeScript, checker: ts.TypeChecker, call: ts.CallExpression | ts.NewExpression): ts.Signature | undefined {
  const target = ts.isPropertyAccessExpression(call.expression) ? call.expression.expression : call.expression;
  return checker.getTypeAtLocation(target).getCallSignatures()[0];
}

/** The parameter at `index`; past the last, the last (a rest parameter takes them all). */
function parameterName(signature: ts.Signature | undefined, index: number): string {
  const parameters = signature?.getParameters() ?? [];
  const parameter = parameters[Math.min(index, parameters.length - 1)];
  return parameter === undefined ? '(unknown)' : parameter.getName();
}
