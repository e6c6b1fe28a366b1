// Passed to every test process with --import (vitest.config.ts), and from there to the worker threads it starts.
import { register } from 'node:module';

register('./compiled-modules.mjs', import.meta.url);
