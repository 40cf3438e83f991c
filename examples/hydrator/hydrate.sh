#!/usr/bin/env bash
# A sample hydrator: renders the DRY commit checked out in the current directory once per
# environment and pushes one hydrated commit per environment to its staging branch
# (`environment/<env>-next`), following the contract promoter reads (docs/design.md §1):
#
#   - every hydrated commit carries `hydrator.metadata` (JSON) at its root, naming the DRY commit;
#   - when an environment's rendered manifests did not change, no commit is made: a git note
#     {"drySha": "<sha>"} in refs/notes/hydrator.metadata on the current staging tip says
#     "this DRY commit was hydrated, nothing to promote" (a no-op hydration);
#   - pushes are never forced: if someone else moved a staging branch meanwhile, the push is
#     rejected and the next run starts from the new tip.
#
# Rendering is a stand-in: the common base directory plus envs/<env>/, copied as they are. Set
# RENDER_COMMAND to run your real renderer instead; it runs in the DRY checkout with ENVIRONMENT
# and OUTPUT_DIR set, e.g.
#   RENDER_COMMAND='kustomize build "envs/$ENVIRONMENT" > "$OUTPUT_DIR/manifests.yaml"'
#
# Settings (environment variables):
#   REMOTE          remote to fetch from and push to (default: origin)
#   ENVIRONMENTS    space-separated environment names (default: every directory under envs/)
#   BASE_DIR        files copied into every environment first (default: base; may be absent)
#   BRANCH_PREFIX   live branch = <prefix><env>, staging branch = <prefix><env>-next
#                   (default: environment/)
#   RENDER_COMMAND  see above (default: the copy stand-in)
#
# The hydrated commits and notes use git's usual identity (user.name/user.email, or
# GIT_AUTHOR_* / GIT_COMMITTER_*): set one for the bot before running this script.
set -euo pipefail

remote="${REMOTE:-origin}"
base_dir="${BASE_DIR:-base}"
prefix="${BRANCH_PREFIX:-environment/}"
notes_ref="refs/notes/hydrator.metadata"

# Prints "$1" as a JSON string: quotes, backslashes and control characters escaped.
json_string() {
  local text="$1" out="" char code i
  for ((i = 0; i < ${#text}; i++)); do
    char="${text:i:1}"
    case "${char}" in
      '"') out+='\"' ;;
      '\') out+='\\' ;;
      $'\n') out+='\n' ;;
      $'\r') out+='\r' ;;
      $'\t') out+='\t' ;;
      *)
        printf -v code '%d' "'${char}"
        if ((code >= 0 && code < 32)); then
          printf -v char '\\u%04x' "${code}"
        fi
        out+="${char}"
        ;;
    esac
  done
  printf '"%s"' "${out}"
}

# Writes the rendered manifests of environment $1 into the empty directory $2.
render() {
  local environment="$1" output="$2"
  if [ -n "${RENDER_COMMAND:-}" ]; then
    ENVIRONMENT="${environment}" OUTPUT_DIR="${output}" bash -c "${RENDER_COMMAND}"
    return
  fi
  if [ -d "${base_dir}" ]; then
    cp -R "${base_dir}/." "${output}/"
  fi
  cp -R "envs/${environment}/." "${output}/"
}

# --- The DRY commit being hydrated -------------------------------------------------------------
dry_sha="$(git rev-parse HEAD)"
# The clone URL without any user:password@ part, so a token never lands in a commit.
repo_url="$(git remote get-url "${remote}" | sed -E 's#^([a-z+]+://)[^/@]*@#\1#')"
author="$(git log -1 --format='%an <%ae>' "${dry_sha}")"
date="$(git log -1 --format='%aI' "${dry_sha}")" # strict ISO 8601, which is RFC 3339
subject="$(git log -1 --format='%s' "${dry_sha}")"
body="$(git log -1 --format='%b' "${dry_sha}")"

if [ -n "${ENVIRONMENTS:-}" ]; then
  read -r -a environments <<<"${ENVIRONMENTS}"
else
  environments=()
  for dir in envs/*/; do
    [ -d "${dir}" ] && environments+=("$(basename "${dir}")")
  done
fi
if [ "${#environments[@]}" -eq 0 ]; then
  echo "hydrate: no environments (no directories under envs/ and ENVIRONMENTS is empty)" >&2
  exit 2
fi

# Everything temporary (rendered output, worktrees) lives here and is removed on exit.
work="$(mktemp -d)"
cleanup() {
  for tree in "${work}"/tree-*; do
    [ -d "${tree}" ] && git worktree remove --force "${tree}"
  done
  rm -rf "${work}"
}
trap cleanup EXIT

# The current staging tips and notes. The notes ref may not exist yet; that is fine.
git fetch --quiet --no-tags "${remote}" "+refs/heads/${prefix}*:refs/remotes/${remote}/${prefix}*"
git fetch --quiet --no-tags "${remote}" "+${notes_ref}:${notes_ref}" 2>/dev/null || true

pushes=()       # refspecs pushed together at the end, atomically
notes_written=0

for environment in "${environments[@]}"; do
  staging="${prefix}${environment}-next"
  tip="$(git rev-parse --verify --quiet "refs/remotes/${remote}/${staging}^{commit}" || true)"

  output="${work}/out-${environment}"
  mkdir "${output}"
  render "${environment}" "${output}"

  # A temporary worktree at the staging tip; the first hydration of an environment starts from
  # nothing (a root commit). Create the live branch once by hand from it:
  #   git push origin environment/<env>-next:environment/<env>
  tree="${work}/tree-${environment}"
  git worktree add --quiet --detach "${tree}" "${tip:-HEAD}"
  git -C "${tree}" rm -r -q --ignore-unmatch -- .
  cp -R "${output}/." "${tree}/"
  git -C "${tree}" add --all

  # Did the manifests change? hydrator.metadata always does (it names the DRY commit), so it is
  # left out of the comparison.
  if [ -n "${tip}" ] &&
    git -C "${tree}" diff --cached --quiet "${tip}" -- . ':(exclude)hydrator.metadata'; then
    # No-op hydration: record that this DRY commit was processed, on the unchanged tip.
    git notes --ref "${notes_ref}" add --force \
      --message "{\"drySha\": \"${dry_sha}\"}" "${tip}"
    notes_written=1
    echo "hydrate: ${environment}: manifests unchanged, noted ${dry_sha:0:7} on ${staging} (${tip:0:7})"
    continue
  fi

  cat >"${tree}/hydrator.metadata" <<JSON
{
  "drySha": "${dry_sha}",
  "repoURL": $(json_string "${repo_url}"),
  "author": $(json_string "${author}"),
  "date": "${date}",
  "subject": $(json_string "${subject}"),
  "body": $(json_string "${body}")
}
JSON
  git -C "${tree}" add hydrator.metadata

  # commit-tree instead of commit: the worktree stays detached and no local branch is created.
  parents=()
  [ -n "${tip}" ] && parents=(-p "${tip}")
  commit="$(printf '%s\n\nHydrated %s from %s.\n' "${subject}" "${environment}" "${dry_sha}" |
    git -C "${tree}" commit-tree "$(git -C "${tree}" write-tree)" "${parents[@]}")"
  pushes+=("${commit}:refs/heads/${staging}")
  echo "hydrate: ${environment}: ${staging} -> ${commit:0:7} (dry ${dry_sha:0:7})"
done

if [ "${notes_written}" -eq 1 ]; then
  pushes+=("${notes_ref}:${notes_ref}")
fi
if [ "${#pushes[@]}" -gt 0 ]; then
  # No --force: a staging branch or the notes ref that moved since our fetch makes the push fail.
  git push --quiet --atomic "${remote}" "${pushes[@]}"
fi
