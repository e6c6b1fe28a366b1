/**
 * Recognises this package's proxy types with nothing but a `ts.TypeChecker`,
 * so the lint rules and the compiler transformer agree on what a proxy is.
 *
 * A type is a proxy when it has the `[proxyBrand]` member of the `ProxyBrand`
 * interface declared in this package's `src/types` (as source in this repo,
 * as `dist/src/types.d.ts` when installed). Every proxy type (`Proxy<T>` and
 * the ownership types built on it) carries that member, and a user's own
 * `ProxyBrand` or `Proxy` declared elsewhere never does.
 *
 * The ownership kind is found the same way: the `OwnershipTag` interface of
 * `src/ownership` has one member, whose literal type says which kind it is.
 */
// Types only: the caller passes its own TypeScript, so the transformer never loads a second copy.
import type ts from 'typescript';
import { memoize } from './memoize.js';
import { OWN_MODULES, packageModule } from './package-files.js';
import type { OwnershipKind } from '../ownership.js';

/** The TypeScript namespace: callers running under another copy (e.g. a patched compiler) pass theirs. */
export type TypeScriptApi = typeof ts;

const TYPES_MODULE = OWN_MODULES.types;
const BRAND_INTERFACE = 'ProxyBrand';
const OWNERSHIP_MODULE = OWN_MODULES.ownership;
const OWNERSHIP_INTERFACE = 'OwnershipTag';
const PROXY_OR_ALIAS = 'ProxyOr';

// Far enough for `{ batch: Proxy<T>[] }` or `Map<K, { p: Proxy<T> }>`, short enough to stay cheap on wide types.
const CONTAINS_DEPTH = 4;
const PROPERTIES_PER_TYPE = 64;
const ALIAS_HOPS = 8;

const OWNERSHIP_KINDS: ReadonlySet<string> = new Set<OwnershipKind>(['owned', 'ref', 'ref-mut']);

export interface ProxyTypes {
  /** The type, or any member of a union, is a proxy. */
  isProxy(type: ts.Type): boolean;
  /** The ownership kind of the type, or of the first union member that has one (`OwnedProxy<T> | undefined` is owned). */
  ownershipOf(type: ts.Type): OwnershipKind | undefined;
  /** The type is a proxy or holds one in a property, element, index signature or type argument (bounded depth). */
  containsProxy(type: ts.Type): boolean;
  /** The annotation is `ProxyOr<…>`, directly, through a union, parentheses, `readonly`, or the user's own alias of it. */
  isProxyOrAnnotation(node: ts.TypeNode): boolean;
  /**
   * Whether a proxy is welcome in this parameter: annotated `ProxyOr<…>`, typed
   * as a proxy already, untyped, `any`/`unknown`, or generic. A parameter typed
   * plainly `T` is the one a proxy should not be passed to.
   */
  acceptsProxy(parameter: ts.ParameterDeclaration): boolean;
}

/** True when a file is this package's type declarations (src/types.ts or its compiled .d.ts). */
// Asked for every type the proxy search passes through: the file name's string work is done once per file.
const isTypesFile = memoize((file: ts.SourceFile): boolean => packageModule(file.fileName) === TYPES_MODULE);

function declaredInTypesFile(symbol: ts.Symbol): boolean {
  return symbol.declarations?.some((declaration) => isTypesFile(declaration.getSourceFile())) ?? false;
}

const brandCache = new WeakMap<ts.Symbol, boolean>();
const tagCache = new WeakMap<ts.Symbol, boolean>();
const perChecker = memoize(createProxyTypes);

export function proxyTypes(checker: ts.TypeChecker, api: TypeScriptApi): ProxyTypes {
  return perChecker(checker, api);
}

/** Type flags of values that are not objects (and `never`): an ES Proxy can never stand for them. */
export function primitiveFlags({ TypeFlags }: TypeScriptApi): number {
  return (
    TypeFlags.StringLike |
    TypeFlags.NumberLike |
    TypeFlags.BigIntLike |
    TypeFlags.BooleanLike |
    TypeFlags.EnumLike |
    TypeFlags.ESSymbolLike |
    TypeFlags.VoidLike |
    TypeFlags.Null |
    TypeFlags.Never
  );
}

function createProxyTypes(checker: ts.TypeChecker, api: TypeScriptApi): ProxyTypes {
  const { TypeFlags, SymbolFlags, ObjectFlags, SignatureKind, SyntaxKind } = api;
  const NEVER_PROXY = primitiveFlags(api) | TypeFlags.Any | TypeFlags.Unknown | TypeFlags.NonPrimitive;
  const OPEN = TypeFlags.Any | TypeFlags.Unknown | TypeFlags.Instantiable;

  /** A property declared by the named interface of one of this package's modules. */
  function memberOf(interfaceName: string, module: string, cache: WeakMap<ts.Symbol, boolean>): (property: ts.Symbol) => boolean {
    const declaredThere = (declaration: ts.Declaration): boolean => {
      const owner = declaration.parent;
      return (
        api.isInterfaceDeclaration(owner) &&
        owner.name.text === interfaceName &&
        packageModule(declaration.getSourceFile().fileName) === module
      );
    };
    return memoize((property) => property.declarations?.some(declaredThere) ?? false, cache);
  }

  const isBrandProperty = memberOf(BRAND_INTERFACE, TYPES_MODULE, brandCache);
  const isTagProperty = memberOf(OWNERSHIP_INTERFACE, OWNERSHIP_MODULE, tagCache);

  const hasBrand = memoize((type: ts.Type) => checker.getPropertiesOfType(type).some(isBrandProperty));

  function isProxy(type: ts.Type): boolean {
    if (type.isUnion()) return type.types.some(isProxy);
    if (type.flags & NEVER_PROXY) return false;
    return hasBrand(type);
  }

  const taggedKind = memoize((type: ts.Type): OwnershipKind | undefined => {
    const tag = checker.getPropertiesOfType(type).find(isTagProperty);
    // A generic `OwnershipTag<K>` says nothing until K is known.
    const value = tag === undefined ? undefined : checker.getTypeOfSymbol(tag);
    return value?.isStringLiteral() === true && OWNERSHIP_KINDS.has(value.value) ? (value.value as OwnershipKind) : undefined;
  });

  function ownershipOf(type: ts.Type): OwnershipKind | undefined {
    if (type.isUnion()) {
      for (const member of type.types) {
        const kind = ownershipOf(member);
        if (kind !== undefined) return kind;
      }
      return undefined;
    }
    if (type.flags & NEVER_PROXY) return undefined;
    return taggedKind(type);
  }

  /** Types whose contents are not values a caller put there: functions, lib and library classes, our own brands. */
  function isOpaque(type: ts.Type): boolean {
    if (checker.getSignaturesOfType(type, SignatureKind.Call).length > 0) return true;
    if (checker.getSignaturesOfType(type, SignatureKind.Construct).length > 0) return true;
    const symbol = type.aliasSymbol ?? type.getSymbol();
    return symbol !== undefined && declaredInTypesFile(symbol);
  }

  function declaredInLibrary(type: ts.Type): boolean {
    const declarations = type.getSymbol()?.declarations ?? [];
    return declarations.some((declaration) => {
      const file = declaration.getSourceFile();
      return file.hasNoDefaultLib || file.fileName.includes('/node_modules/');
    });
  }

  /**
   * How deep each type is known to hold no proxy. Nested types recur across
   * searches (a record type inside every argument that carries it), so their
   * answers are kept; but only answers that no cycle cut short, since a
   * search that met a type already on its path saw less than the whole type.
   */
  const clearTo = new WeakMap<ts.Type, number>();
  let cycleCuts = 0;

  function holdsProxy(type: ts.Type, depth: number, seen: Set<ts.Type>): boolean {
    if (isProxy(type)) return true;
    if (depth === 0 || type.flags & NEVER_PROXY || (clearTo.get(type) ?? 0) >= depth) return false;
    if (seen.has(type)) {
      cycleCuts++;
      return false;
    }
    const cutsBefore = cycleCuts;
    const holds = searchMembers(type, depth, seen);
    if (!holds && cycleCuts === cutsBefore) clearTo.set(type, depth);
    return holds;
  }

  function searchMembers(type: ts.Type, depth: number, seen: Set<ts.Type>): boolean {
    seen.add(type);
    if (type.isUnionOrIntersection()) return type.types.some((member) => holdsProxy(member, depth, seen));
    // Not `isTypeParameter()`: its type guard would narrow every other type to never.
    if (type.flags & TypeFlags.TypeParameter) {
      const constraint = checker.getBaseConstraintOfType(type);
      return constraint !== undefined && holdsProxy(constraint, depth, seen);
    }
    if (!(type.flags & TypeFlags.Object) || isOpaque(type)) return false;
    const inner = (member: ts.Type): boolean => holdsProxy(member, depth - 1, seen);
    if ((type as ts.ObjectType).objectFlags & ObjectFlags.Reference) {
      if (checker.getTypeArguments(type as ts.TypeReference).some(inner)) return true;
    }
    if (type.aliasTypeArguments?.some(inner) === true) return true;
    // Arrays, Maps, Promises, Records and other library types hold caller values only through their type arguments.
    if (declaredInLibrary(type)) return false;
    if (checker.getIndexInfosOfType(type).some((info) => inner(info.type))) return true;
    return checker
      .getPropertiesOfType(type)
      .slice(0, PROPERTIES_PER_TYPE)
      .some((property) => inner(checker.getTypeOfSymbol(property)));
  }

  const containsProxy = memoize((type: ts.Type) => holdsProxy(type, CONTAINS_DEPTH, new Set()));

  function resolveAlias(symbol: ts.Symbol): ts.Symbol {
    return symbol.flags & SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  }

  function isProxyOrAlias(symbol: ts.Symbol): boolean {
    return (symbol.flags & SymbolFlags.TypeAlias) !== 0 && symbol.name === PROXY_OR_ALIAS && declaredInTypesFile(symbol);
  }

  function namesProxyOr(node: ts.TypeNode, hops: number): boolean {
    if (api.isParenthesizedTypeNode(node)) return namesProxyOr(node.type, hops);
    if (api.isUnionTypeNode(node)) return node.types.some((member) => namesProxyOr(member, hops));
    if (api.isTypeOperatorNode(node) && node.operator === SyntaxKind.ReadonlyKeyword) return namesProxyOr(node.type, hops);
    if (!api.isTypeReferenceNode(node)) return false;
    const named = checker.getSymbolAtLocation(node.typeName);
    if (named === undefined) return false;
    const symbol = resolveAlias(named);
    if (isProxyOrAlias(symbol)) return true;
    // A user's `type Input<T> = ProxyOr<T>` is followed to what it stands for.
    const declaration = symbol.declarations?.find(api.isTypeAliasDeclaration);
    return declaration !== undefined && hops > 0 && namesProxyOr(declaration.type, hops - 1);
  }

  // Asked of one parameter's annotation by several checks (its function's native uses, the signature, acceptsProxy).
  const isProxyOrAnnotation = memoize((node: ts.TypeNode): boolean => namesProxyOr(node, ALIAS_HOPS));

  function isOpen(type: ts.Type): boolean {
    if (type.isUnion()) return type.types.some(isOpen);
    return (type.flags & OPEN) !== 0;
  }

  const acceptsProxy = memoize(declaredToAcceptProxy);

  function declaredToAcceptProxy(parameter: ts.ParameterDeclaration): boolean {
    const annotation = parameter.type;
    if (annotation === undefined) return true;
    const rest = parameter.dotDotDotToken !== undefined;
    const declared = rest && api.isArrayTypeNode(annotation) ? annotation.elementType : annotation;
    if (isProxyOrAnnotation(declared)) return true;
    let type = checker.getTypeFromTypeNode(declared);
    if (rest && checker.isArrayType(type)) type = checker.getTypeArguments(type as ts.TypeReference)[0] ?? type;
    return isOpen(type) || isProxy(type);
  }

  return { isProxy, ownershipOf, containsProxy, isProxyOrAnnotation, acceptsProxy };
}
