/**
 * The transformer's options, as written in tsconfig's `compilerOptions.plugins`
 * entry (or passed to the bundler plugin and CLI), checked once per program.
 */
import { compileGlobs } from './glob.js';
import { DEFAULT_SUBMIT_APIS, checkSubmitApi, type SubmitApi } from './submit-apis.js';

export type Severity = 'error' | 'warning' | 'off';

export interface TransformerOptions {
  /** Serialized size in bytes at or over which `autoProxy` proxies a value. Default 100000. */
  readonly threshold?: number;
  /** Name of a registered store to proxy into; without it (and without configureAutoProxy) nothing is proxied. */
  readonly store?: string;
  /** Globs, relative to the project directory, of files to leave untouched (no wrapping, no diagnostics). */
  readonly exclude?: readonly string[];
  /** How a proxy passed to a parameter typed plainly `T` is reported. Default 'warning'. */
  readonly diagnostics?: Severity;
  /** More submit-style APIs, on top of the built-in ones (see submit-apis.ts). */
  readonly submitApis?: readonly SubmitApi[];
  /** `false` drops the built-in submit-style APIs, leaving only `submitApis`. */
  readonly defaultSubmitApis?: boolean;
}

export interface ResolvedOptions {
  readonly threshold: number;
  readonly store: string | undefined;
  readonly excluded: (relativePath: string) => boolean;
  readonly diagnostics: Severity;
  readonly submitApis: readonly SubmitApi[];
}

/** Same default as the run time's DEFAULT_AUTO_PROXY_THRESHOLD; written into every call site. */
export const DEFAULT_THRESHOLD = 100_000;

/** Keys ts-patch leaves in the plugin entry for its own use. */
const TS_PATCH_KEYS = new Set(['transform', 'import', 'isEsm', 'tsConfig', 'resolvePathAliases', 'after', 'afterDeclarations', 'type', 'name', 'transformProgram']);
const OWN_KEYS = new Set(['threshold', 'store', 'exclude', 'diagnostics', 'submitApis', 'defaultSubmitApis']);
/** Keys of the same entry read only by the language-service plugin (language-service.ts). */
const EDITOR_KEYS = new Set(['inlayHints']);
const SEVERITIES: readonly Severity[] = ['error', 'warning', 'off'];

/** Options with defaults filled in, plus one sentence per problem found, saying what is used instead. */
export function resolveOptions(raw: unknown): { options: ResolvedOptions; problems: string[] } {
  const problems: string[] = [];
  const given = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  for (const key of Object.keys(given)) {
    if (!OWN_KEYS.has(key) && !TS_PATCH_KEYS.has(key) && !EDITOR_KEYS.has(key)) problems.push(`unknown option '${key}' ignored (known: ${[...OWN_KEYS].join(', ')})`);
  }
  const { threshold = DEFAULT_THRESHOLD, store, exclude = [], diagnostics = 'warning', submitApis = [], defaultSubmitApis = true } = given;

  const validThreshold = typeof threshold === 'number' && Number.isFinite(threshold) && threshold >= 0;
  if (!validThreshold) problems.push(`'threshold' must be a non-negative number of bytes, got ${JSON.stringify(threshold)}; using ${DEFAULT_THRESHOLD}`);
  const validStore = store === undefined || (typeof store === 'string' && store !== '');
  if (!validStore) problems.push(`'store' must be the name of a registered store, got ${JSON.stringify(store)}; using none`);
  const validSeverity = SEVERITIES.includes(diagnostics as Severity);
  if (!validSeverity) problems.push(`'diagnostics' must be one of ${SEVERITIES.map((s) => `'${s}'`).join(', ')}, got ${JSON.stringify(diagnostics)}; using 'warning'`);
  const globs = Array.isArray(exclude) && exclude.every((g) => typeof g === 'string') ? (exclude as readonly string[]) : undefined;
  if (globs === undefined) problems.push(`'exclude' must be an array of glob strings, got ${JSON.stringify(exclude)}; excluding nothing`);
  if (typeof defaultSubmitApis !== 'boolean') problems.push(`'defaultSubmitApis' must be a boolean, got ${JSON.stringify(defaultSubmitApis)}; keeping the defaults`);
  const extra = Array.isArray(submitApis) ? submitApis.filter((api, i) => checkSubmitApi(api, `submitApis[${i}]`, problems)) : [];
  if (!Array.isArray(submitApis)) problems.push(`'submitApis' must be an array, got ${JSON.stringify(submitApis)}; ignored`);

  return {
    options: {
      threshold: validThreshold ? threshold : DEFAULT_THRESHOLD,
      store: validStore ? store : undefined,
      excluded: compileGlobs(globs ?? []),
      diagnostics: validSeverity ? (diagnostics as Severity) : 'warning',
      submitApis: [...(defaultSubmitApis === false ? [] : DEFAULT_SUBMIT_APIS), ...extra],
    },
    problems,
  };
}
