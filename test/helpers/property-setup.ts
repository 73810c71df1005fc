// Vitest setup of the unit project: `npm run fuzz` sets PROPERTY_RUNS and PROPERTY_SEED for a long
// run; fast-check properties that do not set their own numRuns and seed take them from here.
import fc from 'fast-check';

const runs = process.env.PROPERTY_RUNS;
const seed = process.env.PROPERTY_SEED;
fc.configureGlobal({ ...(runs === undefined ? {} : { numRuns: Number(runs) }), ...(seed === undefined ? {} : { seed: Number(seed) }) });
