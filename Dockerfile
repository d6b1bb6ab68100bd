# Vigil on Node 24 LTS. Build: docker build --build-arg VIGIL_COMMIT=$(git rev-parse HEAD) -t vigil .
# Run: docker-compose.yml, and docs/operations.md#running-with-docker-compose.
# .dockerignore lets in only package files, tsconfigs and the components' sources: never data/, demo-data/,
# secrets/, .git, node_modules, tests or the benchmarks.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so a source change reuses this layer. No install scripts run: better-sqlite3 ships
# Node-API binaries for linux x64/arm64, so the image needs no compiler.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The one build step: compile the server and the dashboard's browser code, then drop the dev dependencies.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ARG VIGIL_COMMIT=
ENV NODE_ENV=production VIGIL_DATA_DIR=/data VIGIL_BUILD_COMMIT=${VIGIL_COMMIT}
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/dashboard/web/public dashboard/web/public
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 1883 8883 8080
# /readyz over HTTP, or over HTTPS with VIGIL_HTTP_TLS (trusting the server's own certificate): healthy while
# the broker listens and the outbox is writable, also while the reading store is down (readings wait).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "dist/app/healthcheck.js"]
ENTRYPOINT ["node", "--max-semi-space-size=32", "--no-allocation-site-pretenuring", "dist/cli/main.js"]
CMD ["start"]
