# Production image of Tollgate: one image, run as `start gateway` or `start admin`.
# Base images are pinned to an exact release (20.19.0 is the oldest Node the engines field
# accepts). Pin by digest (node:20.19.0-bookworm-slim@sha256:…) in your registry's build once you
# have resolved it there; this file cannot carry a digest that was not checked against a registry.
FROM node:20.19.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY apps/gateway/package.json apps/gateway/
COPY apps/admin/package.json apps/admin/
COPY apps/cli/package.json apps/cli/
COPY apps/console/package.json apps/console/
COPY apps/portal/package.json apps/portal/
COPY packages/model/package.json packages/model/
COPY packages/router/package.json packages/router/
COPY packages/policies/package.json packages/policies/
COPY packages/upstream/package.json packages/upstream/
COPY packages/compiler/package.json packages/compiler/
COPY packages/db/package.json packages/db/
COPY packages/stores/package.json packages/stores/
COPY packages/metering/package.json packages/metering/
COPY packages/importers/package.json packages/importers/
COPY packages/billing/package.json packages/billing/
RUN npm ci --no-audit --no-fund
COPY apps apps
COPY packages packages
# The web console and the developer portal are static files (apps/console/dist, apps/portal/dist)
# served by the admin: built here, Vite pruned after.
RUN npx tsc -b && npm run build -w @tollgate/console && npm run build -w @tollgate/portal && npm prune --omit=dev --no-audit --no-fund

FROM node:20.19.0-bookworm-slim
ENV NODE_ENV=production
# The process runs as `node` and /app belongs to root: everything written lives under
# /var/lib/tollgate (embedded PGlite in data/, billing exports in reports/), owned by node.
ENV TOLLGATE_DATA=/var/lib/tollgate/data
# Inside a container the network namespace is the boundary: bind the admin API on all of the
# container's interfaces (a loopback bind could never be reached through a published port). It
# always requires a token (ADMIN_TOKEN, or the one printed at first start); publish it on the
# host's loopback only (docker run -p 127.0.0.1:8001:8001), as docker-compose.yml does.
ENV ADMIN_HOST=0.0.0.0
# DejaVu Sans lets PDF invoices print names outside Latin-1 (PDFKit falls back to Helvetica without it).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /var/lib/tollgate/data /var/lib/tollgate/reports && chown -R node:node /var/lib/tollgate
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/apps apps
COPY --from=build /app/packages packages
COPY migrations migrations
USER node
VOLUME ["/var/lib/tollgate"]
# proxy (HTTP, HTTPS), admin API, status
EXPOSE 8000 8443 8001 8100 8002
# The V8 flags every Tollgate process starts with (apps/cli/src/node-flags.ts: a 4 MiB young
# generation keeps scavenge pauses short while an apply is installed). On the command line rather than
# in NODE_OPTIONS, so an operator's own NODE_OPTIONS (e.g. --max-old-space-size) does not drop it.
ENTRYPOINT ["node", "--max-semi-space-size=4", "apps/cli/dist/main.js"]
CMD ["start", "all"]
