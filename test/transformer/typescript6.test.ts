import { fixtureSuite } from './helpers/fixture-suite.js';
import { TS6 } from './helpers/compilers.js';

fixtureSuite(TS6, 'ts6');
