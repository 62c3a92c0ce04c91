// The load generator: a separate process, so its CPU is not the server's. Closed loop: each of
// `concurrency` connections sends its next request when the previous answer has been read in full.
//
//   node --import tsx bench/loadgen.ts <plan.json>      prints one JSON result on stdout
//
// Plan: { requests: [{method, url, headers?, body?}], concurrency, count? | durationMs?,
//         warmupMs?, order?: 'round-robin' | 'random', kubeconfig?, recordAll? }
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parse } from 'yaml';

export interface PlannedRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Free-form label, echoed in recordAll output. */
  tag?: string;
}

export interface LoadPlan {
  requests: PlannedRequest[];
  concurrency: number;
  /** Total requests to send (each planned request once when equal to requests.length). */
  count?: number;
  durationMs?: number;
  /** Requests in this first period are sent but not recorded. */
  warmupMs?: number;
  /** The first this many requests are sent but not recorded (added to count). */
  warmupCount?: number;
  order?: 'round-robin' | 'random';
  /** TLS client credentials for kube-apiserver. */
  kubeconfig?: string;
  /** Record every request (start time, latency, status, tag), not just latencies. */
  recordAll?: boolean;
  /** Send `x-request-id: <prefix><n>` with the n-th request (and record it), so a server's own timings can be matched to ours. */
  requestIdPrefix?: string;
}

export interface Sent {
  tag: string | undefined;
  /** The x-request-id sent, with `requestIdPrefix`. */
  requestId?: string;
  /** epoch ms */
  startedAt: number;
  latencyMs: number;
  status: number;
  bytes: number;
  body?: string;
}

export interface LoadResult {
  sent: number;
  seconds: number;
  requestsPerSecond: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
  bytes: number;
  errors: string[];
  all?: Sent[];
}

function tlsFrom(kubeconfig: string): https.AgentOptions {
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const b = (s: string) => Buffer.from(s, 'base64');
  return { ca: b(doc.clusters[0]!.cluster['certificate-authority-data']), cert: b(doc.users[0]!.user['client-certificate-data']), key: b(doc.users[0]!.user['client-key-data']) };
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const tls = plan.kubeconfig ? tlsFrom(plan.kubeconfig) : {};
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: plan.concurrency, ...tls });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  const all: Sent[] = [];
  let bytes = 0;
  let next = 0;
  let sent = 0;
  const t0 = performance.now();
  const warmupEnd = t0 + (plan.warmupMs ?? 0);
  const end = plan.durationMs !== undefined ? warmupEnd + plan.durationMs : Infinity;
  const warmupCount = plan.warmupCount ?? 0;
  const total = (plan.count ?? (plan.durationMs === undefined ? plan.requests.length : Infinity)) + warmupCount;
  let measuredStart = warmupEnd;

  const pick = (): PlannedRequest => {
    const i = plan.order === 'random' ? Math.floor(Math.random() * plan.requests.length) : next % plan.requests.length;
    next++;
    return plan.requests[i]!;
  };

  const send = (request: PlannedRequest, requestId: string | undefined) =>
    new Promise<{ status: number; bytes: number; body: string }>((resolve, reject) => {
      const url = new URL(request.url);
      const secure = url.protocol === 'https:';
      const headers = { ...(request.body ? { 'content-type': 'application/json' } : {}), ...request.headers, ...(requestId ? { 'x-request-id': requestId } : {}) };
      const req = (secure ? https : http).request(
        url,
        { method: request.method, headers, agent: secure ? httpsAgent : httpAgent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, bytes: body.length, body: plan.recordAll ? body.toString('utf8').slice(0, 500) : '' });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (request.body) req.write(request.body);
      req.end();
    });

  const loop = async () => {
    for (;;) {
      if (sent >= total || performance.now() >= end) return;
      const index = sent++;
      const request = pick();
      const requestId = plan.requestIdPrefix === undefined ? undefined : `${plan.requestIdPrefix}${index}`;
      const start = performance.now();
      // epoch ms with the sub-millisecond part, comparable with another process's timeOrigin + now()
      const startedAt = performance.timeOrigin + start;
      let status = 0;
      let size = 0;
      let body = '';
      try {
        ({ status, bytes: size, body } = await send(request, requestId));
      } catch (error) {
        if (errors.length < 20) errors.push((error as Error).message);
      }
      const latency = performance.now() - start;
      if (start < warmupEnd || index < warmupCount) continue;
      latencies.push(latency);
      statuses[status] = (statuses[status] ?? 0) + 1;
      bytes += size;
      if (plan.recordAll) all.push({ tag: request.tag, ...(requestId ? { requestId } : {}), startedAt, latencyMs: latency, status, bytes: size, ...(status >= 300 ? { body } : {}) });
    }
  };
  if (plan.warmupMs === undefined) measuredStart = t0;
  await Promise.all(Array.from({ length: plan.concurrency }, loop));
  const seconds = (performance.now() - Math.max(measuredStart, t0)) / 1000;
  httpAgent.destroy();
  httpsAgent.destroy();
  return {
    sent: latencies.length,
    seconds,
    requestsPerSecond: latencies.length / seconds,
    latenciesMs: latencies,
    statuses,
    bytes,
    errors,
    ...(plan.recordAll ? { all } : {}),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadPlan;
  const result = await runLoad(plan);
  process.stdout.write(JSON.stringify(result));
}
