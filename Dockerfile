# Loom, as docker-compose.yml runs it (two processes on one Postgres and one Redis).
#   docker build -t loom .
# The server runs its TypeScript through tsx, so the image keeps the dev dependencies that
# include it; the web client is built once here, not at every start.
FROM node:22-bookworm-slim

WORKDIR /app

# The lockfile and every workspace's package.json first: the install layer is rebuilt only when
# dependencies change, not at every source edit.
COPY package.json package-lock.json ./
COPY shared/package.json shared/package.json
COPY server/package.json server/package.json
COPY client-sdk/package.json client-sdk/package.json
COPY loadtest/package.json loadtest/package.json
COPY web/package.json web/package.json
# the database driver, patched (vendor/postgres/PATCHED.md), is installed from here
COPY vendor vendor
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build:web && mkdir -p /app/data && chown node:node /app/data

# The generated token secret lives in /app/data (a volume shared by the processes of one
# deployment) unless LOOM_SECRET is set; logs are JSON lines on stdout.
ENV PORT=2567 \
    LOOM_DATA_DIR=/app/data \
    LOOM_WEB_BUILD=off \
    LOOM_LOG_FORMAT=json
USER node
EXPOSE 2567
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) persists every pending turn before the process exits; give it the
# LOOM_SHUTDOWN_DRAIN_MS it needs (stop_grace_period in docker-compose.yml).
CMD ["node", "--import", "./server/src/npm-parent.mjs", "--import", "tsx", "server/src/main.ts"]
