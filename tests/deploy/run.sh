#!/usr/bin/env bash
# Offline checks of deploy/ (part of make test; no cluster, no servers):
#   1. promtool check rules on deploy/prometheus-rules.yaml (syntax, PromQL,
#      templates), then promtool test rules with rules_test.yaml: every
#      alert fires on made-up bad series and stays silent on healthy ones.
#      The test runs on a copy without annotations (promtool compares the
#      rendered annotations too, which would repeat every description in
#      the test); `check rules` has parsed their templates, and
#      rules_annotations_test.yaml checks the text of two as rendered.
#   2. check_manifests.mjs on the Kubernetes manifests: the Kubernetes API
#      schema (unknown fields, wrong types) and the restricted pod profile
#      with our rules. Then deliberately broken copies, each of which must
#      be refused with the complaint it deserves, so the checker is shown
#      to catch what it claims to.
# Node packages are pinned in package-lock.json; `npm ci` installs them once.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RULES=$REPO/deploy/prometheus-rules.yaml
MANIFESTS=("$REPO/deploy/daemonset.yaml" "$REPO/deploy/router.yaml")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
ok() { echo "ok   [deploy] $*"; }
bad() { echo "FAIL [deploy] $*" >&2; failures=$((failures + 1)); }

command -v promtool >/dev/null || { echo "promtool is missing: run tests/deps.sh (Debian's prometheus package)" >&2; exit 1; }
cd "$HERE"
[ -d node_modules/kubernetes-models ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null

# ---- 1. alert rules ----------------------------------------------------------------
if out=$(promtool check rules "$RULES" 2>&1); then
    ok "promtool check rules: $(echo "$out" | grep -o '[0-9]* rules found')"
else
    bad "promtool check rules: $out"
fi
node -e '
    const fs = require("fs"), YAML = require("yaml");
    const doc = YAML.parse(fs.readFileSync(process.argv[1], "utf8"));
    for (const g of doc.groups) for (const r of g.rules) delete r.annotations;
    fs.writeFileSync(process.argv[2], YAML.stringify(doc));
' "$RULES" "$TMP/rules.yaml"
sed "s#../../deploy/prometheus-rules.yaml#rules.yaml#" rules_test.yaml >"$TMP/rules_test.yaml"
if out=$(promtool test rules "$TMP/rules_test.yaml" 2>&1); then
    ok "promtool test rules: $(grep -c '^  - name:' rules_test.yaml) scenarios, each alert fires on its bad series and not on the healthy ones"
else
    bad "promtool test rules: $out"
fi
if out=$(promtool test rules rules_annotations_test.yaml 2>&1); then
    ok "promtool test rules: annotations render (labels, values, durations) as rules_annotations_test.yaml reads them"
else
    bad "promtool test rules (annotations): $out"
fi
# Every alert in the file has a test, a for:, a severity and what to do.
alerts=$(grep -oP '^\s+- alert: \K\w+' "$RULES" | sort -u)
for a in $alerts; do
    grep -q "alertname: $a\$" rules_test.yaml || bad "alert $a has no promtool test"
done
node -e '
    const fs = require("fs"), YAML = require("yaml");
    const doc = YAML.parse(fs.readFileSync(process.argv[1], "utf8"));
    let n = 0;
    for (const g of doc.groups) for (const r of g.rules) {
        const miss = [];
        if (r.for === undefined) miss.push("for");
        if (!["critical", "warning"].includes(r.labels?.severity)) miss.push("severity critical or warning");
        if (!r.annotations?.summary) miss.push("summary");
        if (!r.annotations?.description) miss.push("description");
        if (miss.length) { console.log(`${r.alert}: no ${miss.join(", ")}`); n++; }
    }
    process.exit(n ? 1 : 0);
' "$RULES" || bad "alerts without for, severity, summary or description"
ok "$(echo "$alerts" | wc -w) alerts, each tested, with for, severity, summary and description"

# ---- 2. manifests --------------------------------------------------------------------
if out=$(node check_manifests.mjs "${MANIFESTS[@]}" 2>&1); then
    ok "manifests pass the Kubernetes API schema, unknown-field check and the restricted profile: ${MANIFESTS[*]##*/}"
else
    bad "our manifests are refused:"$'\n'"$out"
fi
grep -q -- "--uid 10001 " "$REPO/deploy/Dockerfile" ||
    bad "the manifests run as uid 10001 but deploy/Dockerfile creates no such user"

# broken FILE EXPECT SED...: a copy of FILE changed by sed must be refused
# with EXPECT in a complaint about that copy. The change must have
# happened, so a manifest that drifts from the pattern fails here instead
# of passing. The copies are checked together at the end (one tsc run).
copies=() expects=() changes=()
broken() {
    local file=$1 expect=$2 copy=$TMP/broken-${#copies[@]}-${1##*/}
    shift 2
    sed "$@" "$file" >"$copy"
    if cmp -s "$file" "$copy"; then
        bad "broken copy ($expect): the sed changed nothing in ${file##*/}"
        return
    fi
    copies+=("$copy") expects+=("$expect") changes+=("$*")
}
DS=$REPO/deploy/daemonset.yaml
RT=$REPO/deploy/router.yaml
broken "$DS" "does not exist in type 'ISecurityContext'" -e 's/readOnlyRootFilesystem: true/readOnlyRootFilesytem: true/'
broken "$RT" "does not exist in type 'IContainerPort'" -e 's/containerPort: 6033}/containerPort: 6033, protocl: TCP}/'
broken "$RT" "periodSeconds must be integer" -e 's/periodSeconds: 5/periodSeconds: "5"/'
broken "$DS" "Type 'string' is not assignable to type 'number'" -e 's/runAsUser: 10001/runAsUser: "10001"/'
broken "$DS" "must be equal to one of the allowed values" -e 's/type: RuntimeDefault/type: Runtimedefault/'
broken "$RT" "does not exist in type 'IServiceSpec'" -e 's/  selector: {app: tablet-router}/  selectr: {app: tablet-router}/'
broken "$DS" "updateStrategy OnDelete" -e 's/type: OnDelete/type: RollingUpdate/'
broken "$DS" "mounted with subPath" -e 's#mountPath: /etc/tablet-agent/secret,#mountPath: /etc/tablet-agent/secret/password, subPath: password,#'
broken "$DS" "hostNetwork is not allowed" -e 's/nodeSelector: {tablet-agent: enabled}/&\n      hostNetwork: true/'
broken "$DS" "type hostPath is not allowed" -e 's#emptyDir: {sizeLimit: 64Mi}#hostPath: {path: /var/lib/tablet-agent}#'
broken "$RT" "capabilities must drop ALL" -e 's/capabilities: {drop: \[ALL\]}/capabilities: {drop: [NET_RAW]}/'
broken "$RT" "allowPrivilegeEscalation must be false" -e 's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/'
broken "$RT" "readOnlyRootFilesystem must be true" -e '/readOnlyRootFilesystem: true/d'
broken "$DS" "runAsNonRoot must be true" -e 's/runAsNonRoot: true/runAsNonRoot: false/'
broken "$RT" "Map keys must be unique" -e 's/  replicas: 2/&\n  replicas: 3/'

node check_manifests.mjs "${copies[@]}" >"$TMP/broken.out" 2>&1 && bad "every broken copy was accepted"
for i in "${!copies[@]}"; do
    name=${copies[$i]##*/}
    mine=$(grep -F -- "${copies[$i]}" "$TMP/broken.out" || true)
    if [ -z "$mine" ]; then
        bad "a copy with [${changes[$i]}] was accepted"
    elif [[ "$mine" != *"${expects[$i]}"* ]]; then
        bad "a copy with [${changes[$i]}] was refused, but not for '${expects[$i]}': $mine"
    else
        ok "refused: ${name#broken-*-} with [${changes[$i]}]: $(grep -F -- "${expects[$i]}" <<<"$mine" | head -1 | sed 's/^.*): //')"
    fi
done

echo "$([ $failures = 0 ] && echo "deploy checks: all passed" || echo "deploy checks: $failures failed")"
exit $((failures > 0))
