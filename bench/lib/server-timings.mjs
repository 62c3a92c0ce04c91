// Preloaded into the read-path bench's API (`--import`; plain JS, as it loads before tsx): records,
// on the API's own clock, when each HTTP request carrying an x-request-id started and finished,
// and every garbage collection, and writes them to $BENCH_SERVER_TIMINGS_FILE at exit. With the
// client's latencies this splits a slow request into time inside the API (and the collections in
// it) and time outside it (loopback, the kernel waking the processes). Nothing in src/ knows it.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import process from 'node:process';

/** @typedef {{ request: import('node:http').IncomingMessage }} RequestMessage */

/** @type {Map<import('node:http').IncomingMessage, { id: string, start: number }>} */
const started = new Map();
/** @type {{ id: string, start: number, end: number }[]} */
const requests = [];
/** @type {{ start: number, durationMs: number, kind: number | undefined }[]} */
const collections = [];

subscribe('http.server.request.start', (message) => {
  const { request } = /** @type {RequestMessage} */ (message);
  const id = request.headers['x-request-id'];
  if (typeof id === 'string') started.set(request, { id, start: performance.now() });
});
subscribe('http.server.response.finish', (message) => {
  const { request } = /** @type {RequestMessage} */ (message);
  const entry = started.get(request);
  if (!entry) return;
  started.delete(request);
  requests.push({ ...entry, end: performance.now() });
});

new PerformanceObserver((list) => {
  for (const gc of list.getEntries()) {
    const { detail } = /** @type {{ detail?: { kind?: number } }} */ (/** @type {unknown} */ (gc));
    collections.push({ start: gc.startTime, durationMs: gc.duration, kind: detail?.kind });
  }
}).observe({ entryTypes: ['gc'] });

process.on('exit', () => {
  const file = process.env.BENCH_SERVER_TIMINGS_FILE;
  if (file) writeFileSync(file, JSON.stringify({ timeOrigin: performance.timeOrigin, requests, collections }));
});
