# shipshape's container image (CTR-1..5, SEC-14). Stages:
#   deps -> build (compile TypeScript) | prod-deps (runtime dependencies only) | init (tini) -> runtime
#   deps -> development (the target compose.yaml runs, with tsx watch and the embedded tools)
# Build a release (docs/deploy-docker.md):
#   docker build -t shipshape:0.1.0 --build-arg APP_VERSION=0.1.0 --build-arg APP_REVISION="$(git rev-parse HEAD)" .
# The base is pinned to Node 24 on Debian 12; pin its digest too (node:24-bookworm-slim@sha256:...) once you
# have pulled it, so a rebuild of the same commit gets the same base.
ARG NODE_IMAGE=node:24-bookworm-slim

# Every dependency, for compiling and for development. Install scripts stay off: argon2 and the compilers
# ship prebuilt linux-x64 binaries, so nothing needs to run (or compile) at install time. The versions are the
# lockfile's, installed by `npm ci` alone.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only: no PGlite, tsx, TypeScript, jest or pino-pretty in the runtime image.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# tini as PID 1 forwards SIGTERM to node and reaps zombies; the static build needs no libraries.
FROM ${NODE_IMAGE} AS init
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

FROM deps AS development
ENV HOST=0.0.0.0 \
    PORT=3000 \
    WEB_CONCURRENCY=1
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
USER node
EXPOSE 3000
CMD ["node_modules/.bin/tsx", "watch", "--clear-screen=false", "src/main.ts"]

FROM ${NODE_IMAGE} AS runtime
ARG APP_VERSION=0.0.0-dev
ARG APP_REVISION=unknown
LABEL org.opencontainers.image.title="shipshape" \
      org.opencontainers.image.description="Express 5 + TypeScript API service" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${APP_VERSION}" \
      org.opencontainers.image.revision="${APP_REVISION}"
# The runtime installs nothing: package managers and C headers go (no build tools in the image, CTR-3).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-v* \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg \
      /usr/local/include/node
COPY --from=init /usr/bin/tini-static /usr/bin/tini
WORKDIR /app
# Production by default: without SECRET_KEY, DATABASE_URL and TRUST_PROXY the app refuses to start (exit 78).
# One worker per container: scale with replicas, not processes.
# NODE_OPTIONS caps V8's young generation at 16 MB a semi-space: Node 24 otherwise grows it to 64 MB under load,
# 85 MB more RSS per process for 10% less CPU on the database path (docs/performance.md, change 12).
ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    WEB_CONCURRENCY=1 \
    NODE_OPTIONS=--max-semi-space-size=16
# Owned by root and read-only to the app user: a compromised process cannot rewrite its own code.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# Attachments' directory (UPLOAD_DIR): the app's, so a named volume mounted here starts writable by it.
RUN mkdir -p /var/lib/shipshape/uploads && chown 1000:1000 /var/lib/shipshape/uploads && chmod 0750 /var/lib/shipshape/uploads
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# Node itself, so the image needs no curl. Ready means: started, database up, migrations applied.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
# As `npm start`: OpenTelemetry and Sentry load before the app so they can patch http, express, knex and pg.
CMD ["node", "--import", "./dist/instrument.js", "dist/main.js"]
