# Vigil on Node 24 LTS. Build: docker build -t vigil .   Run: see docker-compose.yml.
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json tsconfig.web.json ./
COPY domain domain
COPY state state
COPY registry registry
COPY gateway gateway
COPY ingest ingest
COPY alerts alerts
COPY dashboard dashboard
COPY simulators simulators
COPY app app
COPY cli cli
COPY bench bench
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production VIGIL_DATA_DIR=/data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/dashboard/web/public dashboard/web/public
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 1883 8883 8080
HEALTHCHECK CMD node -e "fetch('http://127.0.0.1:'+(process.env.VIGIL_HTTP_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["start"]
