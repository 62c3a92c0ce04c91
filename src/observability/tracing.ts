import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

// OpenTelemetry tracing through Temporal's interceptors: an API request, the workflow it starts or
// updates, and each activity share one trace. Off unless an OTLP endpoint is configured.

export interface Tracing {
  /** For Worker.create and the Temporal Client: propagates and records spans. */
  plugin: OpenTelemetryPlugin;
  provider: NodeTracerProvider;
  shutdown: () => Promise<void>;
}

export function createTracing(serviceName: string, endpoint: string | undefined): Tracing | undefined {
  if (!endpoint) return undefined;
  const resource = new Resource({ 'service.name': serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: new URL('/v1/traces', endpoint).toString() }), { scheduledDelayMillis: 500 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Registers the global tracer and the async-local context that carries spans across awaits.
  provider.register();
  return { plugin: new OpenTelemetryPlugin({ resource, spanProcessor }), provider, shutdown: () => provider.shutdown() };
}
