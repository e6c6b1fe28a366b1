/** The first two lines of the ownership rules' cases: imports, and what the cases use. Cases start on line 3. */
export const OWNERSHIP_HEAD = [
  "import { borrow, dispose, dispose as free, encodeProxies, extract, intoOwned, mutBorrow, release, Store, type OwnedProxy, type Proxy, type RefMutProxy, type RefProxy } from '../../../src/index.js';",
  'interface Doc { id: string; items: number[]; nested: { n: number } } declare const store: Store; declare const doc: Doc; declare const c: boolean; declare function use(value: unknown): void; ' +
    'declare const executor: { submit(task: string, ...args: unknown[]): Promise<unknown>; map(task: string, argLists: unknown[][]): Promise<unknown[]> };',
].join('\n');
