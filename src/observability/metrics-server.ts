import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * Serves GET /metrics: this process's registry, followed by what the Temporal SDK's own exporter
 * serves (worker slots, poll latencies, cache size), so one scrape gets both.
 */
export async function serveMetrics(options: { registry: Registry; host: string; port: number; sdkMetricsUrl?: string }): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    void (async () => {
      const own = await options.registry.metrics();
      const sdk = options.sdkMetricsUrl ? await fetch(options.sdkMetricsUrl).then((r) => r.text()).catch(() => '') : '';
      response.writeHead(200, { 'content-type': options.registry.contentType }).end(`${own}\n${sdk}`);
    })().catch((error: unknown) => response.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  return server;
}
