#!/usr/bin/env bash
# Run the CUnit unit tests under valgrind: any invalid access or leak fails.
set -euo pipefail
bin=${1:-build/unit-tests}
shift || true
exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 "$bin" "$@"
