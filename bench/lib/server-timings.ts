// Splits the client's latencies by what the API saw of the same requests (bench/lib/server-timings.mjs,
// preloaded into the API): three legs (reaching the API, inside it, coming back) and the API's
// garbage collections that overlapped each request.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../stack/index.js';
import type { Sent } from '../loadgen.js';
import { round, summarize, type Summary } from './report.js';

interface ServerRequest {
  id: string;
  start: number;
  end: number;
}

interface Collection {
  start: number;
  durationMs: number;
}

export interface ServerTimings {
  /** The API's performance.timeOrigin (epoch ms): puts the client's epoch times on the API's clock. */
  timeOrigin: number;
  requests: ServerRequest[];
  collections: Collection[];
}

/** Node flags and env for the API process; `read()` once it has exited. */
export function serverTimingsRecorder(stateDir: string): { nodeFlags: string[]; env: Record<string, string>; read: () => ServerTimings } {
  const file = join(stateDir, 'api-server-timings.json');
  return {
    nodeFlags: ['--import', join(repoRoot, 'bench', 'lib', 'server-timings.mjs')],
    env: { BENCH_SERVER_TIMINGS_FILE: file },
    read: () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ServerTimings) : { timeOrigin: 0, requests: [], collections: [] }),
  };
}

/** One request's legs, ms. */
interface Legs {
  clientMs: number;
  /** Client sends -> the API has the request parsed. */
  toApiMs: number;
  /** Request parsed -> response handed to the socket, on the API's clock. */
  insideApiMs: number;
  /** Response handed to the socket -> the client has read it all. */
  backMs: number;
  /** Collections in the API while the request was on its way or inside. */
  collectingMs: number;
}

export interface Split {
  /** Requests matched to the API's record (all should be). */
  matched: number;
  toApi: Summary;
  insideApi: Summary;
  back: Summary;
  /** Requests the API's collections overlapped, between the client sending and the response leaving. */
  overlappingGc: { requests: number; ofSlowest1Percent: number; slowest1Percent: number };
  /** The client's latency of the requests that no collection overlapped. */
  withoutGc: Summary;
  /** The slowest 1 % by the client's latency: the mean of each leg. */
  slowest1Percent: Legs;
  /** Collections while the requests ran: how many, and their pauses. */
  collections: { count: number; pauseMs: Summary };
}

const overlap = (a0: number, a1: number, b0: number, b1: number) => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));

export function splitByServer(sent: Sent[], timings: ServerTimings): Split {
  const byId = new Map(timings.requests.map((r) => [r.id, r]));
  const rows = sent.flatMap((s): (Legs & { sent: number; end: number })[] => {
    const server = s.requestId ? byId.get(s.requestId) : undefined;
    if (!server) return [];
    const sentAt = s.startedAt - timings.timeOrigin;
    const collectingMs = timings.collections.reduce((sum, c) => sum + overlap(sentAt, server.end, c.start, c.start + c.durationMs), 0);
    const toApiMs = server.start - sentAt;
    const insideApiMs = server.end - server.start;
    return [{ clientMs: s.latencyMs, toApiMs, insideApiMs, backMs: s.latencyMs - toApiMs - insideApiMs, collectingMs, sent: sentAt, end: server.end }];
  });
  const slowest = [...rows].sort((a, b) => b.clientMs - a.clientMs).slice(0, Math.max(1, Math.round(rows.length / 100)));
  const mean = (leg: keyof Legs) => round(slowest.reduce((sum, r) => sum + r[leg], 0) / Math.max(1, slowest.length), 3);
  const first = Math.min(...rows.map((r) => r.sent));
  const last = Math.max(...rows.map((r) => r.end));
  const during = timings.collections.filter((c) => c.start + c.durationMs >= first && c.start <= last);
  return {
    matched: rows.length,
    toApi: summarize(rows.map((r) => r.toApiMs)),
    insideApi: summarize(rows.map((r) => r.insideApiMs)),
    back: summarize(rows.map((r) => r.backMs)),
    overlappingGc: { requests: rows.filter((r) => r.collectingMs > 0).length, ofSlowest1Percent: slowest.filter((r) => r.collectingMs > 0).length, slowest1Percent: slowest.length },
    withoutGc: summarize(rows.filter((r) => r.collectingMs === 0).map((r) => r.clientMs)),
    slowest1Percent: { clientMs: mean('clientMs'), toApiMs: mean('toApiMs'), insideApiMs: mean('insideApiMs'), backMs: mean('backMs'), collectingMs: mean('collectingMs') },
    collections: { count: during.length, pauseMs: summarize(during.map((c) => c.durationMs)) },
  };
}
