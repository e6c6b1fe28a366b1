/**
 * Does a parameter need the real object, not a proxy of it?
 *
 * The engine's built-ins read the internal slots of some arguments (a typed
 * array's storage, a Blob's bytes, a key's handle). An ES Proxy has none of
 * them, so a proxy of a `Uint8Array` is not a typed array to
 * `ArrayBuffer.isView`, `TextDecoder#decode` throws on it, and `new Blob([p])`
 * or `new Response(p)` silently stringify it. Which parameters do that is read
 * from their declared types: a parameter of a function declared in TypeScript's
 * lib, `@types/node` or `undici-types` whose type is, or has a union member
 * that is, one of those built-in types (`BufferSource`, `ArrayBufferView`,
 * typed arrays, `DataView`, `Blob`, `BodyInit`, `Buffer`, `KeyObject`, …).
 * Built-ins whose parameters say `any`/`unknown` but still look at slots
 * (`ArrayBuffer.isView`, `structuredClone`, `postMessage`, …) are listed by
 * name.
 *
 * Shared by the ESLint rule `no-proxy-to-native` and the compiler transformer,
 * so both report the same calls. It imports only TypeScript's types: each
 * caller passes the TypeScript it runs on (ts-patch hands the transformer a
 * patched copy; loading another would cost more than the check).
 */
import type ts from 'typescript';

/** Built-in types whose values are checked by internal slot, not by shape. */
const SLOT_TYPES: ReadonlySet<string> = new Set([
  'ArrayBuffer',
  'SharedArrayBuffer',
  'ArrayBufferView',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Buffer',
  'Blob',
  'File',
  'FormData',
  'URLSearchParams',
  'ReadableStream',
  'WritableStream',
  'TransformStream',
  'Request',
  'Response',
  'Headers',
  'AbortSignal',
  'MessagePort',
  'KeyObject',
  'CryptoKey',
  'X509Certificate',
]);

/** Where built-ins are declared, besides TypeScript's own lib files. */
const BUILT_IN_PACKAGE = /\/node_modules\/(?:@types\/node|undici-types)\//;

/** How far unions, aliases, arrays and type parameters are followed. */
const MAX_DEPTH = 6;

/**
 * Array methods that put their arguments in the list they are called on: a
 * parameter put in a local list this way reaches whatever the list is handed
 * to later (`parts.push(p); new Blob(parts)`), as the transformer (and the
 * annotate codemod through it) and the lint rule follow it.
 */
export const LIST_ADDING_METHODS: ReadonlySet<string> = new Set(['push', 'unshift']);

export interface NativeNeed {
  /** What needs the real object, for messages: a built-in type (`BufferSource`) or function (`ArrayBuffer.isView`). */
  readonly name: string;
  /** The parameter takes a list of such objects (`new Blob(parts)`, `Buffer.concat(list)`): its elements must be real. */
  readonly inElements: boolean;
  /** From `argumentNeed`: the parameter's declared type as written (`BodyInit | null`), when it has one. */
  readonly declared?: string;
  /** A built-in listed by name, whose parameter type (`any`, a bare `T`) says nothing of what it needs. */
  readonly byName?: boolean;
}

/**
 * Built-ins whose parameter types do not say that they need the real object
 * (`any`, `unknown`, a bare type parameter), keyed by declared name. `owner` is
 * the interface or class around the declaration, `module` the ambient module
 * (without `node:`); absent means any.
 */
interface UntypedNative {
  readonly name: string | RegExp;
  readonly owner?: string;
  readonly module?: string;
  readonly except?: ReadonlySet<string>;
  /** How messages name it; default the declared name. */
  readonly label?: (declared: string, owner: string | undefined) => string;
}

const UNTYPED_NATIVES: readonly UntypedNative[] = [
  { name: 'isView', owner: 'ArrayBufferConstructor', label: () => 'ArrayBuffer.isView' },
  { name: 'isBuffer', owner: 'BufferConstructor', label: () => 'Buffer.isBuffer' },
  // The structured clone algorithm throws DataCloneError on any proxy.
  { name: 'structuredClone' },
  { name: 'postMessage', label: (name, owner) => (owner === undefined ? name : `${owner}#${name}`) },
  { name: 'serialize', module: 'v8', label: () => 'v8.serialize' },
  { name: 'writeValue', owner: 'Serializer', module: 'v8', label: () => 'v8.Serializer#writeValue' },
  // util.types checks slots; isProxy is how one asks whether a value is a proxy, so a proxy is welcome there.
  { name: /^is/, module: 'util/types', except: new Set(['isProxy']), label: (name) => `util.types.${name}` },
];

export interface NativeTypes {
  /** The node is declared in TypeScript's lib, `@types/node` or `undici-types`. */
  isBuiltIn(node: ts.Node): boolean;
  /**
   * Whether a value passed where `parameter` is declared must be the real
   * object: some member of the type is a built-in slot-checked type. With
   * `argument`, only members the argument can land in count (a proxy of a
   * plain record passed to `URLSearchParams | Record<string, string>` is fine).
   * Looks only at the type, not at who declared the function.
   */
  typeNeed(parameter: ts.Type, argument?: ts.Type): NativeNeed | undefined;
  /**
   * Whether the argument at `index` of a call resolved to `signature` must be
   * the real object: the signature is a built-in's, and its parameter's type
   * says so or the built-in is one of the listed untyped ones.
   */
  argumentNeed(signature: ts.Signature, index: number, argument?: ts.Type): NativeNeed | undefined;
}

const perProgram = new WeakMap<ts.Program, NativeTypes>();

/** One per program: answers are remembered per declaration. */
export function nativeTypes(api: typeof ts, program: ts.Program): NativeTypes {
  let found = perProgram.get(program);
  if (found === undefined) {
    found = createNativeTypes(api, program);
    perProgram.set(program, found);
  }
  return found;
}

function createNativeTypes(api: typeof ts, program: ts.Program): NativeTypes {
  const checker = program.getTypeChecker();
  const { TypeFlags } = api;
  const builtInFiles = new WeakMap<ts.SourceFile, boolean>();
  const untypedByDeclaration = new WeakMap<ts.Node, NativeNeed | null>();

  function isBuiltInFile(file: ts.SourceFile): boolean {
    let builtIn = builtInFiles.get(file);
    if (builtIn === undefined) {
      builtIn = program.isSourceFileDefaultLibrary(file) || BUILT_IN_PACKAGE.test(file.fileName.replaceAll('\\', '/'));
      builtInFiles.set(file, builtIn);
    }
    return builtIn;
  }

  function isBuiltIn(node: ts.Node): boolean {
    return isBuiltInFile(node.getSourceFile());
  }

  function slotTypeName(type: ts.Type): string | undefined {
    const symbol = type.getSymbol();
    if (symbol === undefined || !SLOT_TYPES.has(symbol.getName())) return undefined;
    return symbol.declarations?.some(isBuiltIn) === true ? symbol.getName() : undefined;
  }

  /**
   * The argument, or a member of it, can be passed where `target` is declared.
   * Strictly: it is assignable. Loosely: it is a slot-checked built-in itself,
   * so it needs to be real whichever member of the parameter's union it lands
   * in (and TypeScript 5.9+ keeps `Uint8Array<ArrayBufferLike>` from being
   * assignable to `ArrayBufferView<ArrayBuffer>`, which would hide exactly those).
   */
  function canLand(argument: ts.Type | undefined, target: ts.Type, strict: boolean): boolean {
    if (argument === undefined) return true;
    const members = argument.isUnion() ? argument.types : [argument];
    return members.some((member) => {
      if (member.flags & (TypeFlags.Null | TypeFlags.Undefined)) return false;
      if (checker.isTypeAssignableTo(member, target)) return true;
      const parts = member.isIntersection() ? member.types : [member];
      return !strict && parts.some((part) => slotTypeName(part) !== undefined);
    });
  }

  function elementOf(type: ts.Type): ts.Type | undefined {
    if (checker.isArrayType(type) || checker.isTupleType(type)) return checker.getIndexTypeOfType(type, api.IndexKind.Number);
    return undefined;
  }

  /** The slot-checked built-in among `type`'s members (through unions, constraints and list elements) that the argument lands in. */
  function find(type: ts.Type, argument: ts.Type | undefined, strict: boolean, depth: number): NativeNeed | undefined {
    if (depth > MAX_DEPTH || type.flags & (TypeFlags.Any | TypeFlags.Unknown)) return undefined;
    if (type.flags & TypeFlags.TypeParameter) {
      const constraint = checker.getBaseConstraintOfType(type);
      return constraint === undefined || constraint === type ? undefined : find(constraint, argument, strict, depth + 1);
    }
    if (type.isUnionOrIntersection()) {
      for (const member of type.types) {
        const need = find(member, argument, strict, depth + 1);
        if (need !== undefined) return need;
      }
      return undefined;
    }
    const name = slotTypeName(type);
    if (name !== undefined) return canLand(argument, type, strict) ? { name, inElements: false } : undefined;
    const element = elementOf(type);
    if (element === undefined) return undefined;
    const need = find(element, argument === undefined ? undefined : elementOf(argument), strict, depth + 1);
    return need === undefined ? undefined : { name: need.name, inElements: true };
  }

  function typeNeed(parameter: ts.Type, argument?: ts.Type): NativeNeed | undefined {
    // The member the argument is assignable to names the need best; a built-in argument that is not assignable to any still needs to be real.
    return find(parameter, argument, true, 0) ?? (argument === undefined ? undefined : find(parameter, argument, false, 0));
  }

  function untypedNeed(declaration: ts.Node): NativeNeed | undefined {
    const known = untypedByDeclaration.get(declaration);
    if (known !== undefined) return known ?? undefined;
    const site = siteOf(api, declaration);
    const entry = UNTYPED_NATIVES.find(
      (e) =>
        (typeof e.name === 'string' ? e.name === site.name : e.name.test(site.name)) &&
        (e.owner === undefined || e.owner === site.owner) &&
        (e.module === undefined || e.module === site.module) &&
        !(e.except?.has(site.name) ?? false),
    );
    const need = entry === undefined ? undefined : { name: entry.label?.(site.name, site.owner) ?? site.name, inElements: false, byName: true };
    untypedByDeclaration.set(declaration, need ?? null);
    return need;
  }

  function argumentNeed(signature: ts.Signature, index: number, argument?: ts.Type): NativeNeed | undefined {
    const declaration = signature.getDeclaration() as ts.SignatureDeclaration | undefined;
    if (declaration === undefined || !isBuiltIn(declaration)) return undefined;
    // The declared parameter, not the one instantiated for this call: `structuredClone<T>(value: T)` called with a
    // Uint8Array says nothing about Uint8Arrays; `T extends ArrayBufferView` does, through its constraint.
    const parameters = declaration.parameters ?? [];
    const last = parameters.length - 1;
    const rest = last >= 0 && parameters[last]?.dotDotDotToken !== undefined;
    const parameter = parameters[rest ? Math.min(index, last) : index];
    if (parameter === undefined) return undefined;
    let type = checker.getTypeAtLocation(parameter);
    if (rest && index >= last) type = elementOf(type) ?? type;
    const need = typeNeed(type, argument) ?? untypedNeed(declaration);
    return need === undefined || parameter.type === undefined ? need : { ...need, declared: parameter.type.getText() };
  }

  return { isBuiltIn, typeNeed, argumentNeed };
}

interface Site {
  readonly name: string;
  readonly owner: string | undefined;
  readonly module: string | undefined;
}

/** Declared name, enclosing interface or class, and ambient module of a declaration. */
function siteOf(api: typeof ts, declaration: ts.Node): Site {
  let owner: string | undefined;
  let module: string | undefined;
  for (let node = declaration.parent; node !== undefined && !api.isSourceFile(node); node = node.parent) {
    if ((api.isClassLike(node) || api.isInterfaceDeclaration(node)) && node.name !== undefined) owner ??= node.name.text;
    if (api.isModuleDeclaration(node) && api.isStringLiteral(node.name)) module ??= node.name.text.replace(/^node:/, '');
  }
  return { name: declaredName(api, declaration), owner, module };
}

function declaredName(api: typeof ts, declaration: ts.Node): string {
  const named = (declaration as { name?: ts.Node }).name;
  if (named !== undefined && (api.isIdentifier(named) || api.isStringLiteral(named))) return named.text;
  // `declare var structuredClone: (value) => …`: the name is the variable's.
  const parent = declaration.parent;
  return parent === undefined || api.isSourceFile(parent) ? '' : declaredName(api, parent);
}
