#!/bin/sh
# Create the namespace and register gigcover's search attributes (ids and stages only).
set -eu
NAMESPACE="${DEFAULT_NAMESPACE:-default}"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"

until temporal operator cluster health | grep -q SERVING; do echo "waiting for Temporal"; sleep 1; done
temporal operator namespace describe -n "$NAMESPACE" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$NAMESPACE" --retention 30d

# Keep in step with common/temporal.py SEARCH_ATTRIBUTES (a test checks it).
for attribute in OrganizationId=Keyword ContractorId=Keyword AssignmentId=Keyword SessionId=Keyword \
                 Step=Keyword PaymentStage=Keyword ChargeDueAt=Datetime; do
  name="${attribute%%=*}"; type="${attribute#*=}"
  temporal operator search-attribute create -n "$NAMESPACE" --name "$name" --type "$type" || true
done
echo "namespace $NAMESPACE is ready"
