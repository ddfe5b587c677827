# shellcheck shell=bash
# How infra/setup.sh calls gcloud, sourced by it (not run on its own): every call goes through one of
# these wrappers, so `--dry-run` prints each gcloud argv (a JSON array a line) instead of running it,
# and every call gets the manifest's --project and --quiet. Uses DRY_RUN and PROJECT, set by setup.sh.
#
#   gc ARGS...       a call that must succeed
#   create ARGS...   a create that is fine when the resource is already there
#   bind ARGS...     an IAM binding, retried while a new service account is not yet visible to IAM
#   query ARGS...    a read-only call whose output is used (empty in a dry run)
#   bind_project ACCOUNT ROLE   a role on the project, unconditional
#   sa ACCOUNT       the IAM member of a service account (serviceAccount:ACCOUNT)

say() { printf '\n== %s\n' "$*" >&2; }
exec 3>&1   # the dry run's lines go to the script's stdout, also from inside $(…)
json_argv() {   # one JSON array a line on fd 3; arguments never hold control characters
  local out='[' sep='' a
  for a in "$@"; do a="${a//\\/\\\\}"; a="${a//\"/\\\"}"; out+="${sep}\"${a}\""; sep=','; done
  printf '%s]\n' "$out" >&3
}
# A call that must succeed.
gc() {
  if (( DRY_RUN )); then json_argv gcloud "$@" --project="$PROJECT" --quiet; return 0; fi
  gcloud "$@" --project="$PROJECT" --quiet
}
# A create that is fine when the resource is already there (no describe-then-create race).
create() {
  if (( DRY_RUN )); then json_argv gcloud "$@" --project="$PROJECT" --quiet; return 0; fi
  local err
  if err="$(gcloud "$@" --project="$PROJECT" --quiet 2>&1 >/dev/null)"; then return 0; fi
  if grep -qiE 'already exists|ALREADY_EXISTS|already own it' <<<"$err"; then
    echo "   (already there)" >&2
    return 0
  fi
  printf '%s\n' "$err" >&2
  return 1
}
# An IAM binding (idempotent). A service account made a moment ago can take a while to be visible
# to IAM ("does not exist"): retried for IAM_WAIT_SECONDS seconds.
bind() {
  if (( DRY_RUN )); then json_argv gcloud "$@" --project="$PROJECT" --quiet; return 0; fi
  local waited=0 err
  until err="$(gcloud "$@" --project="$PROJECT" --quiet 2>&1 >/dev/null)"; do
    if ! grep -qiE 'does not exist|not found' <<<"$err" || (( waited >= ${IAM_WAIT_SECONDS:-60} )); then
      printf '%s\n' "$err" >&2
      return 1
    fi
    sleep 5; waited=$((waited + 5))
  done
}
# Output of a read-only call (dry run: printed, and the answer is empty).
query() {
  if (( DRY_RUN )); then json_argv gcloud "$@" --project="$PROJECT" --quiet; return 0; fi
  gcloud "$@" --project="$PROJECT" --quiet
}
sa() { printf 'serviceAccount:%s' "$1"; }
# A role on the project, unconditional: bind_project ACCOUNT ROLE.
bind_project() {
  bind projects add-iam-policy-binding "$PROJECT" --member="$(sa "$1")" --role="$2" --condition=None
}
