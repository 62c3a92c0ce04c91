// Preloaded into the read-path bench's API (`--import`; plain JS, as it loads before tsx): records,
// on the API's own clock, when each HTTP request carrying an x-request-id was parsed and answered,
// and every garbage collection, and writes them to $BENCH_SERVER_TIMINGS_FILE at exit. With the
// client's latencies this splits a request into reaching the API, inside it (and the collections
// there) and coming back (loopback, the kernel waking the processes). Nothing in src/ knows it.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import process from 'node:process';

/** @typedef {{ request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse }} RequestMessage */

/** @type {{ id: string, start: number, end: number }[]} */
const requests = [];
/** @type {{ start: number, durationMs: number }[]} */
const collections = [];

// The end is when the API calls response.end(), handing the answer to the socket; not the
// 'finish' event, which runs a turn later and so would count a stall after the bytes left.
subscribe('http.server.request.start', (message) => {
  const { request, response } = /** @type {RequestMessage} */ (message);
  const id = request.headers['x-request-id'];
  if (typeof id !== 'string') return;
  const start = performance.now();
  const end = /** @type {(...args: unknown[]) => import('node:http').ServerResponse} */ (response.end.bind(response));
  response.end = /** @type {typeof response.end} */ (
    (/** @type {unknown[]} */ ...args) => {
      requests.push({ id, start, end: performance.now() });
      return end(...args);
    }
  );
});

new PerformanceObserver((list) => {
  for (const gc of list.getEntries()) collections.push({ start: gc.startTime, durationMs: gc.duration });
}).observe({ entryTypes: ['gc'] });

process.on('exit', () => {
  const file = process.env.BENCH_SERVER_TIMINGS_FILE;
  if (file) writeFileSync(file, JSON.stringify({ timeOrigin: performance.timeOrigin, requests, collections }));
});
