import { describe, expect, it } from 'vitest';
import { compileGlobs } from '../../transformer/glob.js';
import { DEFAULT_THRESHOLD, resolveOptions } from '../../transformer/options.js';
import { DEFAULT_SUBMIT_APIS } from '../../transformer/submit-apis.js';

describe('transformer options', () => {
  it('fills in defaults and ignores the keys ts-patch keeps for itself', () => {
    const { options, problems } = resolveOptions({ transform: 'ts-proxystore/transformer', import: 'default' });
    expect(problems).toEqual([]);
    expect(options).toMatchObject({ threshold: DEFAULT_THRESHOLD, store: undefined, diagnostics: 'warning', submitApis: DEFAULT_SUBMIT_APIS });
    expect(options.excluded('src/a.ts')).toBe(false);
  });

  it('adds submit-style APIs to the built-in ones, or replaces them', () => {
    const queue = { method: 'enqueue', fn: 1, args: 'spread', receiver: 'Queue' } as const;
    expect(resolveOptions({ submitApis: [queue] }).options.submitApis).toEqual([...DEFAULT_SUBMIT_APIS, queue]);
    expect(resolveOptions({ submitApis: [queue], defaultSubmitApis: false }).options.submitApis).toEqual([queue]);
  });

  it('names each bad value and what is used instead', () => {
    const { options, problems } = resolveOptions({ store: '', exclude: 'src', submitApis: [{ method: 'run', fn: -1, args: 'all' }] });
    expect(problems).toEqual([
      `'store' must be the name of a registered store, got ""; using none`,
      `'exclude' must be an array of glob strings, got "src"; excluding nothing`,
      'submitApis[0].fn must be the index of the task argument; entry ignored',
      "submitApis[0].args must be 'spread' or 'each'; entry ignored",
    ]);
    expect(options.submitApis).toEqual(DEFAULT_SUBMIT_APIS);
  });
});

describe('exclude globs', () => {
  const excluded = compileGlobs(['src/generated/**', '**/*.spec.ts', './scripts/?.ts']);

  it.each([
    ['src/generated/a.ts', true],
    ['src/generated/deep/b.ts', true],
    ['src/generatedX/a.ts', false],
    ['a.spec.ts', true],
    ['src/x/a.spec.ts', true],
    ['src/x/a.spec.tsx', false],
    ['scripts/a.ts', true],
    ['scripts/ab.ts', false],
    ['src/main.ts', false],
  ])('%s → %s', (file, expected) => {
    expect(excluded(file)).toBe(expected);
  });
});
