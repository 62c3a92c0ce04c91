import { SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

// Request metrics and tracing for the API. Labels and span names use the route's template
// (/v1/instances/:name), never the URL, so their number stays bounded.

export const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? 'unknown';

/** Observes every answered request in `claimflow_api_request_duration_seconds`, and each 5xx in `claimflow_api_server_errors_total`. */
export function observeRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.apiRequests.observe({ method: request.method, route: routeOf(request), status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) metrics.apiServerErrors.inc();
    done();
  });
}

interface RequestSpan {
  span: Span;
  /** The context with the span active: what the handler runs in. */
  context: Context;
}

const spans = new WeakMap<FastifyRequest, RequestSpan>();

/**
 * One server span per request, named `<METHOD> <route>`, continuing a W3C `traceparent` the
 * caller sent. Fastify runs the hooks, the body parser and the handler as a chain of callbacks;
 * rather than rely on every link (a content parser, a plugin's hook) carrying the async context,
 * the span is made active twice: around the onRequest hooks (authentication), and again in
 * preHandler, which calls the handler synchronously. Every await in the handler (the Temporal
 * client's calls in particular) then sees the request span as the active one.
 */
export function traceRequests(app: FastifyInstance, tracer: Tracer): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const route = routeOf(request);
    const parent = propagation.extract(context.active(), request.headers);
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route, 'claimflow.request_id': request.id } },
      parent,
    );
    const active = trace.setSpan(parent, span);
    spans.set(request, { span, context: active });
    context.with(active, done);
  });

  app.addHook('preHandler', (request, _reply, done) => {
    const entry = spans.get(request);
    if (entry) context.with(entry.context, done);
    else done();
  });

  const end = (request: FastifyRequest, statusCode: number | undefined) => {
    const entry = spans.get(request);
    if (!entry) return;
    spans.delete(request);
    if (statusCode !== undefined) {
      entry.span.setAttribute('http.response.status_code', statusCode);
      if (statusCode >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
    } else {
      entry.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away before the answer' });
    }
    entry.span.end();
  };
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    end(request, undefined);
    done();
  });
}

/** Records a failure the API answers with a 5xx on the request's span. */
export function recordRequestError(request: FastifyRequest, error: unknown): void {
  const entry = spans.get(request);
  if (!entry) return;
  entry.span.recordException(error instanceof Error ? error : String(error));
}
