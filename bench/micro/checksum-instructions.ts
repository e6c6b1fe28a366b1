/**
 * Instruction counts of the frame checksums, which a loaded machine cannot
 * blur: encode and decode one value `n` times with the given serializer, under
 * callgrind, and subtract a run with n = 0 (start-up) from a run with n = 20:
 *
 *   for mode in inplace structure default; do for n in 0 20; do
 *     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *       node dist/bench/micro/checksum-instructions.js $mode $n f64; done; done
 *
 * Measured (Node 20, per encode+decode, 20 calls): a 1 MB Float64Array,
 * unchecked 1.27 M instructions, default 1.19 M (the same, within the
 * start-up noise of ±0.1 M), 'all' 8.94 M; ~1.2 MB of objects ('objs'),
 * unchecked 261.5 M, default 271.3 M (+3.8%), 'all' 276.0 M (+5.5%).
 */
import { deserialize, deserializeInPlace, serialize, serializeInPlace, serializeStructureChecked } from '../../runtime/serialize/serializer.js';

const [mode = 'default', n = '20', kind = 'f64'] = process.argv.slice(2);
const value = kind === 'objs' ? Array.from({ length: 30_000 }, (_, i) => ({ id: i, name: `row ${i}`, score: i * 0.25 })) : Float64Array.from({ length: 131_072 }, (_, i) => i * 0.5);
const pairs = { inplace: [serializeInPlace, deserializeInPlace], structure: [serializeStructureChecked, deserialize], default: [serialize, deserialize] } as const;
const pair = pairs[mode as keyof typeof pairs] as (typeof pairs)[keyof typeof pairs] | undefined;
if (pair === undefined) throw new Error(`mode must be one of ${Object.keys(pairs).join(', ')}, got ${mode}`);
const [write, read] = pair;
for (let i = 0; i < Number(n); i++) read(write(value));
