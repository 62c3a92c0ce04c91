# syntax=docker/dockerfile:1
# claimflow: one image for the Temporal worker (default command) and the HTTP API
# (`node --import tsx src/api/main.ts`). See docs/deploy.md.
#
#   docker build -t claimflow:local .
#
# The code runs from TypeScript source with tsx (a runtime dependency), exactly as in development;
# the workflow bundle is prebuilt here so a worker starts without running webpack
# (WORKER_WORKFLOW_BUNDLE points the worker at it).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: all dependencies, then the workflow bundle --------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json worker.ts ./
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/bundle-workflows.ts
RUN node --import tsx scripts/bundle-workflows.ts dist/workflow-bundle.js

# ---- runtime: production dependencies, the sources, the bundle; a non-root user ------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    WORKER_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    CLAIMFLOW_API_HOST=0.0.0.0 \
    CLAIMFLOW_API_PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
COPY tsconfig.json worker.ts ./
COPY src ./src
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# Files stay root-owned and read-only for the app; uid/gid 1000 is the image's "node" user, given
# numerically so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# node itself is PID 1 (no tsx wrapper process): it receives SIGTERM and shuts down gracefully.
CMD ["node", "--import", "tsx", "--import", "./src/worker/workflow-threads-preload.mjs", "worker.ts"]
