import { render } from './report/render.js';

/** `npm run bench:report`: renders docs/BENCHMARKS.md again from bench-results/*.json. */
await render();
