# auditflow in a container: build with the toolchain, run on a slim Node 24 image.
#
#   docker build -t auditflow .                 on the public node:24-bookworm-slim
#   scripts/docker-build.sh                     without any image registry: a local Debian + Node base
#                                               (debootstrap and the npm registry), passed as BASE
#   docker run -d --name auditflow --pid=host --network=host --cgroupns=host --cap-drop=ALL \
#     --cap-add=AUDIT_CONTROL --cap-add=AUDIT_READ --cap-add=SYS_PTRACE --cap-add=DAC_READ_SEARCH \
#     --cap-add=NET_RAW --cap-add=NET_ADMIN \
#     -v auditflow-state:/var/lib/auditflow -e AUDITFLOW_REDIS_URL=redis://127.0.0.1:6379 auditflow
#
# The capabilities, as in systemd/auditflow.service: AUDIT_CONTROL (the daemon slot, rules and
# settings), AUDIT_READ (the multicast group), SYS_PTRACE (pidfd_getfd(2) on other users' sockets,
# their /proc/<pid>/exe and cwd), DAC_READ_SEARCH (another user's /proc/<pid>/fd is dr-x------,
# and root without DAC_OVERRIDE may not search it), NET_RAW (the AF_PACKET socket that captures the
# DNS answers the host receives, for the flows' remote_name: with --network=host it sees the host's
# interfaces; without NET_RAW the daemon runs on without names and warns once); --cap-drop=ALL takes
# away Docker's other defaults (DAC_OVERRIDE, CHOWN, SETUID, ...), which the daemon does not use. NET_ADMIN:
# the socket destroy broadcasts of sock_diag (close entries with bytes and duration, local ends of
# sockets closed at once; without it none, one warning) and SO_RCVBUFFORCE's 16 MiB receive buffer.
# Not granted: SYS_ADMIN, which flow_end_namespaces = all needs (setns(2) into each container's network
# namespace to read its destroy broadcasts) and which allows far more; add --cap-add=SYS_ADMIN and
# -e AUDITFLOW_FLOW_END_NAMESPACES=all only where those close entries are worth it (docs/security.md).
# A Redis password goes in a file mounted read-only and named by AUDITFLOW_REDIS_PASSWORD_FILE
# (e.g. -v /etc/auditflow/redis-password:/run/secrets/redis-password:ro
#  -e AUDITFLOW_REDIS_PASSWORD_FILE=/run/secrets/redis-password), never in AUDITFLOW_REDIS_URL:
# `docker inspect` shows the environment.
#
# --network=host and no user namespace: the kernel takes audit netlink requests only from the initial
# network and user namespaces. --pid=host: the pids in audit records are the host's, read back in /proc;
# --cgroupns=host: their cgroup paths name their containers.
# The base of both stages: Debian bookworm with Node.js in /usr/local (bin/node, include/node).
ARG BASE=node:24-bookworm-slim
FROM ${BASE} AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends build-essential python3 \
  && rm -rf /var/lib/apt/lists/*
# node-gyp builds the addon against the headers of the Node.js that runs it, without downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./
# The dependencies before the sources, so that a source change reuses this layer; without scripts,
# as the package's own install script (node-gyp rebuild) needs the sources: `npm run build` builds it.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY binding.gyp tsconfig.json tsconfig.build.json ./
COPY native ./native
COPY scripts ./scripts
COPY src ./src
COPY bench ./bench
COPY rules ./rules
COPY config ./config
RUN npm run build && npm prune --omit=dev

FROM ${BASE}
WORKDIR /opt/auditflow
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/auditflow.node ./build/Release/auditflow.node
COPY --from=build /src/rules ./rules
COPY --from=build /src/config/auditflow.conf /etc/auditflow/auditflow.conf
RUN ln -s /opt/auditflow/dist/src/cli/main.js /usr/local/bin/auditflow
ENTRYPOINT ["auditflow"]
CMD ["run"]
