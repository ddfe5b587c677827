#!/usr/bin/env bash
# One-time Google Cloud setup for nbtrigger, for an empty project (billing linked): APIs, service
# identities, service accounts, the Jupyter token secret, the Artifact Registry repository, the
# output bucket, Firestore (database, indexes, TTL), the dead-letter topic, and every IAM binding.
# Idempotent: each step creates what is missing and leaves what exists. infra/README.md says who
# needs which role and why.
#
#   npm ci && npm run build                       # the manifest is read with nbtrigger's own parser
#   bash infra/setup.sh -f infra/nbtrigger.yaml   # asks for the token (hidden) if the secret has none
#   bash infra/setup.sh -f infra/nbtrigger.yaml --token-file token.txt   # or --token-file - (stdin)
#   bash infra/setup.sh -f infra/nbtrigger.yaml --dry-run   # prints each gcloud argv (a JSON array a line)
#
# Read from the manifest: project, region, topic, tokenSecret, function.serviceAccount, each
# service.serviceAccount, the buckets of gs:// outputs (infra/manifest-facts.mjs). Environment
# overrides (they must agree with cloudbuild.yaml's substitutions):
#   REPOSITORY (nbtrigger)  BUCKET (PROJECT-nbtrigger-runs)  BUILD_SA_ID (nbtrigger-build)
#   FUNCTION_BUILD_SA_ID (nbtrigger-function-build)  FIRESTORE_LOCATION (the region)
#   IAM_WAIT_SECONDS: seconds to wait for a new account to be visible to IAM (60)
#
# The token is never printed, stored or put on a command line: it goes from the file, the hidden
# prompt or `openssl rand` through a pipe into Secret Manager.
set -euo pipefail
cd "$(dirname "$0")/.."

MANIFEST=infra/nbtrigger.yaml
TOKEN_FILE=
DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in
    -f|--file) MANIFEST="${2:?-f needs a manifest}"; shift 2 ;;
    --token-file) TOKEN_FILE="${2:?--token-file needs a file (or - for stdin)}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# --- What the manifest says ------------------------------------------------------------------
SERVICE_SAS='' JOB_SAS='' DEFAULT_JOB_RUNTIME_SA=0 OUTPUT_BUCKETS='' SOURCE_BUCKETS='' INDEXES=() TTLS=() NO_INDEXES=()
facts="$(node infra/manifest-facts.mjs "$MANIFEST")"
while IFS='=' read -r key value; do
  case "$key" in
    INDEX) INDEXES+=("$value") ;;
    SOURCE_PREFIXES) ;; # the function's ALLOWED_SOURCES (cloudbuild.yaml), nothing to set up
    TTL) TTLS+=("$value") ;;
    NO_INDEX) NO_INDEXES+=("$value") ;;
    PROJECT|REGION|DEPLOYMENT|TOPIC|TOKEN_SECRET|FUNCTION|FUNCTION_SA|SERVICE_SAS|DEFAULT_RUNTIME_SA|\
    JOB_SAS|DEFAULT_JOB_RUNTIME_SA|OUTPUT_BUCKETS|SOURCE_BUCKETS)
      printf -v "$key" '%s' "$value" ;;
    *) echo "setup.sh: unexpected line from manifest-facts: $key" >&2; exit 2 ;;
  esac
done <<<"$facts"

REPOSITORY="${REPOSITORY:-nbtrigger}"
BUCKET="${BUCKET:-${PROJECT}-nbtrigger-runs}"
BUILD_SA="${BUILD_SA_ID:-nbtrigger-build}@${PROJECT}.iam.gserviceaccount.com"
FUNCTION_BUILD_SA="${FUNCTION_BUILD_SA_ID:-nbtrigger-function-build}@${PROJECT}.iam.gserviceaccount.com"
FIRESTORE_LOCATION="${FIRESTORE_LOCATION:-$REGION}"
DEAD_LETTER_TOPIC="${TOPIC}-dead-letter"
DEAD_LETTER_SUB="${TOPIC}-dead-letter-sub"
SOURCE_BUCKET="${PROJECT}_cloudbuild"   # where `gcloud builds submit` uploads the source
# shellcheck disable=SC2206  # space-separated lists of validated names
BUCKETS=($(printf '%s\n' "$BUCKET" $OUTPUT_BUCKETS | sort -u))

# --- How gcloud is called (infra/setup-gcloud.sh) ---------------------------------------------
# shellcheck source=infra/setup-gcloud.sh
. infra/setup-gcloud.sh

PROJECT_NUMBER="$(query projects describe "$PROJECT" --format='value(projectNumber)')"
if (( DRY_RUN )); then PROJECT_NUMBER=123456789012; fi
PUBSUB_AGENT="service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
SCHEDULER_AGENT="service-${PROJECT_NUMBER}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
COMPUTE_SA="${PROJECT_NUMBER}-compute@developer.gserviceaccount.com"   # Cloud Run's default runtime account

say "APIs"
gc services enable run.googleapis.com cloudfunctions.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com pubsub.googleapis.com cloudscheduler.googleapis.com \
  secretmanager.googleapis.com eventarc.googleapis.com firestore.googleapis.com storage.googleapis.com \
  iam.googleapis.com iamcredentials.googleapis.com cloudresourcemanager.googleapis.com logging.googleapis.com \
  cloudasset.googleapis.com

say "Service identities (created lazily by Google otherwise: bindings to them would fail)"
gc beta services identity create --service=pubsub.googleapis.com
gc beta services identity create --service=cloudscheduler.googleapis.com

say "Service accounts"
create iam service-accounts create "${BUILD_SA%%@*}" --display-name="nbtrigger Cloud Build (cloudbuild.yaml)"
create iam service-accounts create "${FUNCTION_BUILD_SA%%@*}" --display-name="nbtrigger function build (buildpacks)"
for account in "$FUNCTION_SA" $SERVICE_SAS; do
  if [[ "$account" == *"@${PROJECT}.iam.gserviceaccount.com" ]]; then
    create iam service-accounts create "${account%%@*}" --display-name="nbtrigger ${account%%@*}"
  else
    echo "   $account is not of project $PROJECT: not created here, it must exist" >&2
  fi
done

say "The Jupyter token secret ${TOKEN_SECRET}"
create secrets create "$TOKEN_SECRET" --replication-policy=automatic
if [ -z "$(query secrets versions list "$TOKEN_SECRET" --limit=1 --format='value(name)')" ]; then
  if (( DRY_RUN )); then
    gc secrets versions add "$TOKEN_SECRET" --data-file=-
  else
    if [ -n "$TOKEN_FILE" ]; then
      token="$(cat -- "$([ "$TOKEN_FILE" = - ] && echo /dev/stdin || echo "$TOKEN_FILE")")"
    elif [ -t 0 ]; then
      read -rsp "Jupyter token for the notebook services (hidden; empty: a random one nobody sees): " token
      echo >&2
      [ -n "$token" ] || token="$(openssl rand -hex 24)"
    else
      echo "setup.sh: the secret has no token yet: run interactively or pass --token-file FILE (- for stdin)" >&2
      exit 2
    fi
    token="${token%$'\n'}"
    if [ "${#token}" -lt 16 ] || [[ "$token" =~ [[:space:]] ]]; then
      echo "setup.sh: the token must be at least 16 characters, without spaces or line breaks" >&2
      exit 2
    fi
    printf '%s' "$token" | gc secrets versions add "$TOKEN_SECRET" --data-file=- >/dev/null
    unset token
  fi
fi

say "Artifact Registry repository ${REPOSITORY} (${REGION})"
create artifacts repositories create "$REPOSITORY" --location="$REGION" --repository-format=docker \
  --description="nbtrigger notebook images"

say "Buckets: executed notebooks (${BUCKETS[*]}, objects deleted after infra/output-lifecycle.json's age)"
for b in "${BUCKETS[@]}"; do
  create storage buckets create "gs://${b}" --location="$REGION" --uniform-bucket-level-access \
    --public-access-prevention
  gc storage buckets update "gs://${b}" --lifecycle-file=infra/output-lifecycle.json
done
# Buckets of the notebooks' source: not made above: no age rule (a schedule reads its notebook as
# long as it runs).
for b in $SOURCE_BUCKETS; do
  [[ " ${BUCKETS[*]} " == *" ${b} "* ]] && continue
  create storage buckets create "gs://${b}" --location="$REGION" --uniform-bucket-level-access \
    --public-access-prevention
done
create storage buckets create "gs://${SOURCE_BUCKET}" --location="$REGION" --uniform-bucket-level-access \
  --public-access-prevention

say "Firestore (native mode, ${FIRESTORE_LOCATION}): run history and leases"
create firestore databases create --database='(default)' --location="$FIRESTORE_LOCATION" --type=firestore-native
for ix in "${INDEXES[@]}"; do
  read -r collection fields <<<"$ix"
  configs=()
  for f in $fields; do configs+=("--field-config=field-path=${f%%:*},order=${f##*:}"); done
  create firestore indexes composite create --collection-group="$collection" --query-scope=collection \
    "${configs[@]}" --async
done
for pair in "${NO_INDEXES[@]}"; do
  read -r collection field <<<"$pair"
  gc firestore indexes fields update "$field" --collection-group="$collection" --disable-indexes --async
done
for pair in "${TTLS[@]}"; do
  read -r collection field <<<"$pair"
  gc firestore fields ttls update "$field" --collection-group="$collection" --enable-ttl --async
done

say "Pub/Sub: the trigger topic ${TOPIC}, the dead-letter topic ${DEAD_LETTER_TOPIC} and its subscription"
create pubsub topics create "$TOPIC"
create pubsub topics create "$DEAD_LETTER_TOPIC"
# Kept 31 days (the most Pub/Sub allows) and never expiring: a dead message stays to be read.
create pubsub subscriptions create "$DEAD_LETTER_SUB" --topic="$DEAD_LETTER_TOPIC" \
  --message-retention-duration=31d --expiration-period=never

# ---------------------------------------------------------------------------------------------
# IAM. Roles: https://cloud.google.com/iam/docs/understanding-roles (each role's page is linked).
say "IAM: the function (${FUNCTION_SA})"
# Reads JUPYTER_TOKEN (--set-secrets). https://cloud.google.com/secret-manager/docs/access-control
bind secrets add-iam-policy-binding "$TOKEN_SECRET" --member="$(sa "$FUNCTION_SA")" \
  --role=roles/secretmanager.secretAccessor
# It is the Eventarc trigger's account too. https://cloud.google.com/eventarc/docs/access-control
bind_project "$FUNCTION_SA" roles/eventarc.eventReceiver
# Run records and leases (NBTRIGGER_STORE=firestore). https://cloud.google.com/firestore/docs/security/iam
bind_project "$FUNCTION_SA" roles/datastore.user
# Writes executed notebooks; a redelivered run may overwrite its own object, so objectUser (create,
# overwrite, read) rather than objectCreator. https://cloud.google.com/storage/docs/access-control/iam-roles
for b in "${BUCKETS[@]}"; do
  bind storage buckets add-iam-policy-binding "gs://${b}" --member="$(sa "$FUNCTION_SA")" \
    --role=roles/storage.objectUser
done

# Reads the notebooks of source: (docs/deploy.md, "Notebooks in Cloud Storage"). objectViewer: get and list.
# https://cloud.google.com/storage/docs/access-control/iam-roles
for b in $SOURCE_BUCKETS; do
  bind storage buckets add-iam-policy-binding "gs://${b}" --member="$(sa "$FUNCTION_SA")" \
    --role=roles/storage.objectViewer
done

say "IAM: the Cloud Run services' runtime accounts read the token (mounted as JUPYTER_TOKEN)"
runtime_sas="$SERVICE_SAS"
if [ "$DEFAULT_RUNTIME_SA" = 1 ]; then runtime_sas="$runtime_sas $COMPUTE_SA"; fi
for account in $runtime_sas; do
  bind secrets add-iam-policy-binding "$TOKEN_SECRET" --member="$(sa "$account")" \
    --role=roles/secretmanager.secretAccessor
done

# A job-mode notebook's task runs its notebook itself (docs/deploy.md, "Job mode"): it writes the run
# records and leases, the executed notebook, and reads the notebooks of source:, as the function does.
job_sas="$JOB_SAS"
if [ "$DEFAULT_JOB_RUNTIME_SA" = 1 ]; then job_sas="$job_sas $COMPUTE_SA"; fi
if [ -n "${job_sas// /}" ]; then say "IAM: the Cloud Run jobs' runtime accounts (records, outputs, sources)"; fi
for account in $job_sas; do
  bind_project "$account" roles/datastore.user
  for b in "${BUCKETS[@]}"; do
    bind storage buckets add-iam-policy-binding "gs://${b}" --member="$(sa "$account")" \
      --role=roles/storage.objectUser
  done
  for b in $SOURCE_BUCKETS; do
    bind storage buckets add-iam-policy-binding "gs://${b}" --member="$(sa "$account")" \
      --role=roles/storage.objectViewer
  done
done

say "IAM: Google's service agents (Pub/Sub, Cloud Scheduler)"
# Cloud Scheduler jobs publish to the topic as the Scheduler agent.
# https://cloud.google.com/scheduler/docs/http-target-auth , https://cloud.google.com/pubsub/docs/access-control
bind pubsub topics add-iam-policy-binding "$TOPIC" --member="$(sa "$SCHEDULER_AGENT")" --role=roles/pubsub.publisher
# The Eventarc push subscription authenticates to the function with an OIDC token of the function's
# account, minted by the Pub/Sub agent (needed by projects whose agent predates April 2021; bound on
# this one account only). https://cloud.google.com/eventarc/docs/roles-permissions
bind iam service-accounts add-iam-policy-binding "$FUNCTION_SA" --member="$(sa "$PUBSUB_AGENT")" \
  --role=roles/iam.serviceAccountTokenCreator
# Dead-lettering: the agent publishes the dead message to the dead-letter topic and acknowledges it on
# the source subscription. https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions
bind pubsub topics add-iam-policy-binding "$DEAD_LETTER_TOPIC" --member="$(sa "$PUBSUB_AGENT")" \
  --role=roles/pubsub.publisher
# The source subscription is the one Eventarc makes for the function's trigger: it does not exist
# before the first build, and its generated name changes whenever the trigger is made anew, so a
# binding on it would be lost. Subscriber on the project's subscriptions is the documented
# alternative; it is granted to Google's Pub/Sub agent only.
bind_project "$PUBSUB_AGENT" roles/pubsub.subscriber

say "IAM: the Cloud Build account ${BUILD_SA} (cloudbuild.yaml runs as it)"
# Build logs (options.logging: CLOUD_LOGGING_ONLY).
# https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts
bind_project "$BUILD_SA" roles/logging.logWriter
# Reads the source `gcloud builds submit` uploads. https://cloud.google.com/storage/docs/access-control/iam-roles
bind storage buckets add-iam-policy-binding "gs://${SOURCE_BUCKET}" --member="$(sa "$BUILD_SA")" \
  --role=roles/storage.objectViewer
# Pushes the notebook image. https://cloud.google.com/artifact-registry/docs/access-control
bind artifacts repositories add-iam-policy-binding "$REPOSITORY" --location="$REGION" --member="$(sa "$BUILD_SA")" \
  --role=roles/artifactregistry.writer
# nbtrigger deploy uploads the notebooks of source: (objectCreator: create, never overwrite or delete) and
# first reads whether each object exists (objectViewer). https://cloud.google.com/storage/docs/access-control/iam-roles
for b in $SOURCE_BUCKETS; do
  for role in roles/storage.objectCreator roles/storage.objectViewer; do
    bind storage buckets add-iam-policy-binding "gs://${b}" --member="$(sa "$BUILD_SA")" --role="$role"
  done
done
# Deploys the function. https://cloud.google.com/functions/docs/reference/iam/roles
bind_project "$BUILD_SA" roles/cloudfunctions.developer
# nbtrigger deploy: Cloud Run services and their invoker bindings (also the function's invoker
# binding: a 2nd gen function is a Cloud Run service). https://cloud.google.com/run/docs/reference/iam/roles
bind_project "$BUILD_SA" roles/run.admin
# nbtrigger plan/deploy: the services' invoker policies read in pages (searchAllIamPolicies) rather
# than one call a service. https://cloud.google.com/asset-inventory/docs/access-control#required_permissions
bind_project "$BUILD_SA" roles/cloudasset.viewer
# nbtrigger deploy: Scheduler jobs. https://cloud.google.com/scheduler/docs/access-control
bind_project "$BUILD_SA" roles/cloudscheduler.admin
# nbtrigger deploy: the topic, and the dead-letter policy on the trigger's subscription.
# https://cloud.google.com/pubsub/docs/access-control
bind_project "$BUILD_SA" roles/pubsub.editor
# Deploying something that runs as an account is acting as it (the function, its build, the services).
# https://cloud.google.com/iam/docs/service-account-permissions#user-role
for account in "$FUNCTION_SA" "$FUNCTION_BUILD_SA" $runtime_sas; do
  bind iam service-accounts add-iam-policy-binding "$account" --member="$(sa "$BUILD_SA")" \
    --role=roles/iam.serviceAccountUser
done

say "IAM: the function's build account ${FUNCTION_BUILD_SA} (buildpacks of gcloud functions deploy)"
# Its logs, the image it pushes to gcf-artifacts, the source it reads from the sources bucket: that
# repository and bucket are made by Cloud Functions on first deploy, hence project-level grants.
# https://cloud.google.com/functions/docs/securing/build-custom-sa
for role in roles/logging.logWriter roles/artifactregistry.writer roles/storage.objectViewer; do
  bind_project "$FUNCTION_BUILD_SA" "$role"
done

cat >&2 <<EOF

Done. Not granted here, on purpose:
- roles/run.invoker on each Cloud Run service: \`nbtrigger deploy\` grants it to ${FUNCTION_SA}
  per service (the services are never public; no allUsers binding is ever made).
- roles/run.invoker on the function: cloudbuild.yaml (step function-invoker), on that function only.
- The dead-letter policy on the function's trigger subscription: the last step of cloudbuild.yaml.
Next: gcloud builds submit --config=cloudbuild.yaml
EOF
