import { fixtureSuite } from './helpers/fixture-suite.js';
import { TS5 } from './helpers/compilers.js';

fixtureSuite(TS5, 'ts5');
