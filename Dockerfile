# Production image of Tollgate: one image, run as `start gateway` or `start admin`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY apps/gateway/package.json apps/gateway/
COPY apps/admin/package.json apps/admin/
COPY apps/cli/package.json apps/cli/
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
RUN npx tsc -b && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# DejaVu Sans lets PDF invoices print names outside Latin-1 (PDFKit falls back to Helvetica without it).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /var/lib/tollgate/reports && chown node:node /var/lib/tollgate/reports
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/apps apps
COPY --from=build /app/packages packages
COPY migrations migrations
USER node
EXPOSE 8000 8001 8100
ENTRYPOINT ["node", "apps/cli/dist/main.js"]
CMD ["start", "all"]
