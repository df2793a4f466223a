# syntax=docker/dockerfile:1
# projectord as a container: `docker run … projectord` runs the daemon (CMD run); any other
# command works too, e.g. `docker run --rm … projectord status`. It talks to an external MongoDB
# (PROJECTORD_MONGO_URI); the embedded MongoDB of `projectord mongo` / `demo` needs Java and is
# not part of this image. Node 24 LTS: TypeScript modules (mounted, listed in modules.dir or
# modules.paths) load with Node's own type stripping.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the "prepare" script builds, and the sources are not copied yet.
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build

FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; --ignore-scripts again, "prepare" would need TypeScript.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
# Sources of the embedded-MongoDB launcher, as in package.json "files": the CLI locates its
# package root by this folder, so the image needs it even though it never runs Java.
COPY tools/mongo-java-server/pom.xml ./tools/mongo-java-server/pom.xml
COPY tools/mongo-java-server/src ./tools/mongo-java-server/src
# `projectord` on the PATH, so the entrypoint reads like the CLI.
RUN ln -s /app/bin/projectord.js /usr/local/bin/projectord && chmod +x /app/bin/projectord.js
# The node image's unprivileged user (uid 1000); the daemon needs no file writes.
USER node
# /metrics, /healthz, /readyz (PROJECTORD_METRICS_PORT changes it; keep EXPOSE in step).
EXPOSE 9464
# slim has no curl: Node's own fetch. /healthz is liveness (process and event loop responsive);
# orchestrators should use /readyz for readiness.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PROJECTORD_METRICS_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM/SIGINT itself (graceful stop, DESIGN.md invariant 8).
ENV NODE_OPTIONS=--enable-source-maps
ENTRYPOINT ["projectord"]
CMD ["run"]
