/**
 * Costs of the proxy layer. Run: `npm run build && node dist/bench/micro/proxy.bench.js`.
 *
 * Goals: creating a proxy under 1 µs; a property read on a resolved proxy
 * under 60 ns. The plain-object and extract() rows are the floor to compare to.
 * Goals are judged on the median: means carry GC pauses and other processes.
 * Creation runs last so its garbage does not land in the read timings.
 * Each task body repeats its operation OPS times so that the timer's own cost
 * (tens of ns per sample) does not swamp single operations.
 */
import { Bench } from 'tinybench';
import { extract, proxy, resolve } from 'ts-proxystore';

const OPS = 1_000;

interface Row {
  readonly task: string;
  readonly goal?: number;
  readonly run: () => void;
}

let sink = 0;
/** Created proxies are stored so the JIT cannot prove they never escape and skip allocating them. */
const kept: object[] = new Array<object>(OPS);
const plain = { a: 1, b: 2 };
const factory = () => ({ a: 1, b: 2 });
const resolved = proxy(factory, { target: plain });
const map = new Map([['a', 1]]);
const mapProxy = proxy(() => map, { target: map });
const bareHandler: ProxyHandler<object> = {};
const metadata = { kind: 'object', typeName: 'Object', thenable: false } as const;

const rows: Row[] = [
  { task: 'read: plain object', run: () => { for (let i = 0; i < OPS; i++) sink += plain.a; } },
  { task: 'read: resolved proxy', goal: 60, run: () => { for (let i = 0; i < OPS; i++) sink += resolved.a; } },
  { task: 'read: extract(p).a', run: () => { for (let i = 0; i < OPS; i++) sink += extract(resolved).a; } },
  { task: 'read: extract(p) once, then plain', run: () => { const target = extract(resolved); for (let i = 0; i < OPS; i++) sink += target.a; } },
  { task: 'call: map.get (plain)', run: () => { for (let i = 0; i < OPS; i++) sink += map.get('a') ?? 0; } },
  { task: 'call: p.get (bound, cached)', run: () => { for (let i = 0; i < OPS; i++) sink += mapProxy.get('a') ?? 0; } },
  { task: 'resolve(p) of a resolved proxy', run: () => { for (let i = 0; i < OPS; i++) sink += resolve(resolved).b; } },
  { task: 'create: bare new Proxy (floor)', run: () => { for (let i = 0; i < OPS; i++) kept[i] = new globalThis.Proxy({}, bareHandler); } },
  { task: 'create: proxy(factory)', goal: 1000, run: () => { for (let i = 0; i < OPS; i++) kept[i] = proxy(factory); } },
  { task: 'create: proxy(factory, { metadata })', goal: 1000, run: () => { for (let i = 0; i < OPS; i++) kept[i] = proxy(factory, { metadata }); } },
  { task: 'create: proxy(factory, { target })', goal: 1000, run: () => { for (let i = 0; i < OPS; i++) kept[i] = proxy(factory, { target: plain }); } },
  { task: 'create + first read (resolves)', run: () => { for (let i = 0; i < OPS; i++) sink += proxy(factory).a; } },
];

const bench = new Bench({ time: 500, warmupTime: 200 });
for (const row of rows) bench.add(row.task, row.run);
await bench.run();

const table = bench.tasks.map((task, index) => {
  const result = task.result;
  if (result.state !== 'completed') return { task: task.name, 'ns/op (mean)': result.state };
  const perOp = (ms: number) => Number(((ms * 1e6) / OPS).toFixed(1));
  const goal = rows[index]?.goal;
  return {
    task: task.name,
    'ns/op (mean)': perOp(result.latency.mean),
    'ns/op (p50)': perOp(result.latency.p50),
    goal: goal === undefined ? '' : `< ${goal} ns ${perOp(result.latency.p50) < goal ? 'ok' : 'MISSED'}`,
  };
});
console.table(table);
// Printed so the JIT cannot drop the loops as dead code.
console.log(`(checksum ${sink})`);
