#!/usr/bin/env bash
# The run step of action.yml: one `promoter reconcile` pass. Inputs arrive only as environment
# variables (never templated into this script): INPUT_CONFIG, INPUT_DRY_RUN, INPUT_ARGS; the token
# is PROMOTER_TOKEN. promoter itself writes the step summary and the step outputs (changed, report,
# environments) because GITHUB_ACTIONS=true; this script only builds the command line.
set -euo pipefail

command -v promoter >/dev/null 2>&1 || {
  echo "::error title=promoter::promoter is not on PATH; did the install step run?"
  exit 2
}

args=(reconcile --config "${INPUT_CONFIG:-promotion.yaml}")
case "${INPUT_DRY_RUN:-false}" in
  true | True | TRUE) args+=(--dry-run) ;;
  false | False | FALSE | "") ;;
  *)
    echo "::error title=promoter::input dry-run must be true or false, got '${INPUT_DRY_RUN}'"
    exit 2
    ;;
esac
if [ -n "${INPUT_ARGS:-}" ]; then
  # Split on whitespace only: no globbing, no quotes, no command substitution.
  read -r -a extra <<<"${INPUT_ARGS}"
  args+=("${extra[@]}")
fi

echo "promoter ${args[*]}"
exec promoter "${args[@]}"
