#!/usr/bin/env bash
# The short demo `npm run up` ends with: a POS terminal pays through the platform against the sandbox.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
log "demo: a terminal pays through the platform against the sandbox (try it yourself: npm run pos -- help)"
node dist/tools/pos.js demo
