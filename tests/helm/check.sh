#!/usr/bin/env bash
# Checks the Helm chart charts/graphfs:
#   - charts/graphfs/crds/graphfs.yaml is an exact copy of crds/graphfs.yaml
#   - helm lint --strict (default values; examples + watchNamespace)
#   - helm template renders, and the output has what the operator needs
#     (env, probes, security context, exactly the expected RBAC rules)
#   - the values schema rejects bad values (replicaCount=0, logFormat=xml, ...)
#   - kubeVersion: refused below 1.30
#   - kubeconform, offline: built-in kinds are skipped (their JSON schemas
#     live on GitHub, unreachable here); GraphFS and TaggerPool are validated
#     strictly against JSON schemas generated from crds/graphfs.yaml
#   - with tests/envtest installed, a real kube-apiserver: helm install (CRDs
#     from crds/), the operator ServiceAccount's permissions (kubectl auth
#     can-i, and a server-side apply as that account), helm upgrade with the
#     examples and watchNamespace (the API server validates the custom
#     resources, CEL rules included), helm uninstall keeps the CRDs
# Prints one PASS/FAIL/SKIP line per check and a summary line
#   helm: N passed, M failed[, K skipped]
# and exits non-zero when any check failed.
#
# Usage: tests/helm/check.sh          (run tests/helm/install.sh first)
# Environment:
#   GRAPHFS_CACHE           cache root (default ~/.cache/graphfs); tools in $GRAPHFS_CACHE/bin
#   HELM, KUBECONFORM       binaries to use (default: $GRAPHFS_CACHE/bin, then PATH)
#   GRAPHFS_HELM_APISERVER  auto (default: run the API server checks when
#                           tests/envtest is installed), 1 (required), 0 (skip)
#   GRAPHFS_HELM_KEEP=1     keep the work folder (renders, logs, envtest data)

# The bash -c snippets below get their values as arguments, on purpose.
# shellcheck disable=SC2016
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CHART="$REPO/charts/graphfs"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
APISERVER_MODE="${GRAPHFS_HELM_APISERVER:-auto}"

find_tool() { # name env-override
  if [ -n "$2" ]; then printf '%s\n' "$2"; return; fi
  if [ -x "$BIN/$1" ]; then printf '%s\n' "$BIN/$1"; return; fi
  command -v "$1" || true
}
HELM="$(find_tool helm "${HELM:-}")"
KUBECONFORM="$(find_tool kubeconform "${KUBECONFORM:-}")"
if [ -z "$HELM" ] || [ ! -x "$HELM" ]; then
  echo "check.sh: helm not found; run tests/helm/install.sh" >&2; exit 2
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "check.sh: python3 with PyYAML is needed (apt-get install python3-yaml)" >&2; exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/graphfs-helm-check.XXXXXX")"
ENVTEST_DIR=""
cleanup() {
  if [ -n "$ENVTEST_DIR" ] && [ -f "$ENVTEST_DIR/pids" ]; then
    "$REPO/tests/envtest/stop.sh" "$ENVTEST_DIR" >/dev/null 2>&1 || true
  fi
  if [ "${GRAPHFS_HELM_KEEP:-0}" = 1 ]; then
    echo "work folder kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Hermetic Helm: no user repositories, plugins or registry logins; offline
# steps see no cluster.
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"
export KUBECONFIG="$WORK/no-cluster-kubeconfig"
unset HELM_KUBECONTEXT HELM_NAMESPACE

PASSED=0; FAILED=0; SKIPPED=0; FAILED_NAMES=()
# check NAME CMD...: runs CMD with its output in a log; prints the log's tail on failure.
check() {
  local name="$1"; shift
  local log
  log="$WORK/logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_').log"
  mkdir -p "$WORK/logs"
  if "$@" >"$log" 2>&1; then
    PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); FAILED_NAMES+=("$name"); printf 'FAIL  %s\n' "$name"
    tail -n 25 "$log" | sed 's/^/      /'
  fi
}
skip() { SKIPPED=$((SKIPPED + 1)); printf 'SKIP  %s (%s)\n' "$1" "$2"; }

render() { # out-file helm-template-args...
  local out="$1"; shift
  "$HELM" template graphfs "$CHART" --namespace graphfs-system "$@" > "$out"
}

# Assertions on a rendered manifest stream, in Python (PyYAML). MODE picks the
# expectations: default | namespaced | single.
assert_render() { # file mode
  python3 - "$1" "$2" <<'PY'
import sys, yaml
path, mode = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
errors = []
def need(cond, msg):
    if not cond:
        errors.append(msg)
def find(kind, name=None, ns=None):
    return [d for d in docs if d["kind"] == kind
            and (name is None or d["metadata"]["name"] == name)
            and (ns is None or d["metadata"].get("namespace") == ns)]

kinds = sorted(d["kind"] for d in docs)
print("rendered:", ", ".join(kinds))
for d in docs:
    labels = d["metadata"].get("labels", {})
    for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
              "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart"):
        need(k in labels, f"{d['kind']}/{d['metadata']['name']}: label {k} missing")

# The operator's rules (ClusterRole or Role): exactly these, nothing more.
def norm(rules):
    out = set()
    for r in rules:
        for g in r.get("apiGroups", []):
            for res in r["resources"]:
                for v in r["verbs"]:
                    out.add((g, res, v, tuple(r.get("resourceNames", []))))
    return out
child = ["get", "list", "watch", "create", "patch"]
expected = set()
def allow(group, resources, verbs, names=()):
    for res in resources:
        for v in verbs:
            expected.add((group, res, v, tuple(names)))
allow("graphfs.io", ["graphfses"], ["get", "list", "watch", "patch"])
allow("graphfs.io", ["taggerpools"], ["get", "list", "watch"])
allow("graphfs.io", ["graphfses/status", "taggerpools/status"], ["patch"])
allow("apps", ["deployments", "statefulsets"], child)
allow("", ["services"], child)
allow("policy", ["poddisruptionbudgets"], child)
allow("networking.k8s.io", ["networkpolicies"], child)
allow("networking.k8s.io", ["ingresses"], child + ["delete"])
allow("gateway.networking.k8s.io", ["httproutes"], ["get", "create", "patch", "delete"])
allow("", ["secrets"], ["get", "create", "delete"])
allow("", ["persistentvolumeclaims"], ["list", "delete"])
allow("events.k8s.io", ["events"], ["create", "patch"])

for d in docs:
    if d["kind"] in ("ClusterRole", "Role"):
        for r in d.get("rules", []):
            need("*" not in r.get("verbs", []) and "*" not in r.get("resources", [])
                 and "*" not in r.get("apiGroups", []), f"{d['kind']}/{d['metadata']['name']}: wildcard rule {r}")

if mode in ("default", "namespaced", "single"):
    lease = find("Role", "graphfs-operator-leader-election", "graphfs-system")
    need(len(lease) == 1, "leader-election Role missing in the release namespace")
    if lease:
        need(norm(lease[0]["rules"]) == {
            ("coordination.k8s.io", "leases", "create", ()),
            ("coordination.k8s.io", "leases", "get", ("graphfs-operator",)),
            ("coordination.k8s.io", "leases", "update", ("graphfs-operator",)),
        }, f"leader-election rules: {lease[0]['rules']}")
    need(len(find("RoleBinding", "graphfs-operator-leader-election", "graphfs-system")) == 1,
         "leader-election RoleBinding missing")
    need(len(find("ServiceAccount", "graphfs-operator", "graphfs-system")) == 1, "ServiceAccount missing")

if mode in ("default", "single"):
    cr = find("ClusterRole", "graphfs-operator")
    need(len(cr) == 1, "ClusterRole graphfs-operator missing")
    if cr:
        got = norm(cr[0]["rules"])
        need(got == expected, f"ClusterRole rules differ: extra {sorted(got - expected)}, missing {sorted(expected - got)}")
    crb = find("ClusterRoleBinding", "graphfs-operator")
    need(len(crb) == 1 and crb[0]["subjects"][0]["name"] == "graphfs-operator"
         and crb[0]["subjects"][0]["namespace"] == "graphfs-system", "ClusterRoleBinding wrong or missing")
    need(not find("Role", "graphfs-operator"), "namespaced Role rendered without watchNamespace")
    need(not find("GraphFS") and not find("TaggerPool"), "examples rendered while examples.enabled=false")

if mode == "namespaced":
    role = find("Role", "graphfs-operator", "files")
    need(len(role) == 1, "Role graphfs-operator missing in watchNamespace files")
    if role:
        got = norm(role[0]["rules"])
        need(got == expected, f"Role rules differ: extra {sorted(got - expected)}, missing {sorted(expected - got)}")
    rb = find("RoleBinding", "graphfs-operator", "files")
    need(len(rb) == 1 and rb[0]["subjects"][0]["namespace"] == "graphfs-system", "RoleBinding in files wrong or missing")
    need(not find("ClusterRole", "graphfs-operator"), "operator ClusterRole rendered with watchNamespace set")
    need(not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")],
         "watchNamespace set, yet something cluster-wide is granted")
    g = find("GraphFS", "files", "graphfs-system")
    t = find("TaggerPool", "main", "graphfs-system")
    need(len(g) == 1 and len(t) == 1, "examples.enabled: GraphFS files and TaggerPool main expected")
    if t:
        need(t[0]["spec"].get("graphFsRef") == "files", "TaggerPool graphFsRef should default to the GraphFS name")
    if g:
        need(g[0]["apiVersion"] == "graphfs.io/v1alpha1" and "storage" in g[0]["spec"], "GraphFS spec not rendered")

# The Deployment.
dep = find("Deployment", "graphfs-operator", "graphfs-system")
need(len(dep) == 1, "Deployment graphfs-operator missing")
if dep:
    d = dep[0]
    spec = d["spec"]["template"]["spec"]
    need(d["spec"]["replicas"] == (1 if mode == "single" else 2), f"replicas {d['spec']['replicas']}")
    need(spec.get("serviceAccountName") == "graphfs-operator", "serviceAccountName")
    need(spec.get("terminationGracePeriodSeconds") == 30, "terminationGracePeriodSeconds 30")
    psc = spec.get("securityContext", {})
    need(psc.get("runAsNonRoot") is True and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
         "pod securityContext: runAsNonRoot, seccomp RuntimeDefault")
    (c,) = spec["containers"]
    need(c["image"] == "ghcr.io/graphfs/graphfs-operator:0.1.0", f"image {c['image']}")
    need("args" not in c and "command" not in c, "no args/command expected")
    sc = c.get("securityContext", {})
    need(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
         and sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("runAsNonRoot") is True
         and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
         f"container securityContext: {sc}")
    env = {e["name"]: e for e in c.get("env", [])}
    def ref(name, path):
        need(env.get(name, {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == path,
             f"{name} from the downward API {path}")
    def val(name, v):
        need(env.get(name, {}).get("value") == v, f"{name}={env.get(name, {}).get('value')!r}, want {v!r}")
    ref("GRAPHFS_OPERATOR_NAMESPACE", "metadata.namespace")
    ref("GRAPHFS_OPERATOR_IDENTITY", "metadata.name")
    val("GRAPHFS_OPERATOR_METRICS_ADDR", "0.0.0.0:9090")
    val("GRAPHFS_OPERATOR_WATCH_NAMESPACE", "files" if mode == "namespaced" else "")
    val("GRAPHFS_OPERATOR_LEASE_NAME", "graphfs-operator")
    val("GRAPHFS_OPERATOR_LEASE_SECONDS", "15")
    val("GRAPHFS_OPERATOR_API_URL_TEMPLATE", "http://{name}-api.{namespace}.svc")
    val("GRAPHFS_OPERATOR_LOG_FORMAT", "json")
    need(all(n.startswith("GRAPHFS_OPERATOR_") for n in env), "env: only GRAPHFS_OPERATOR_* variables")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    need(ports.get("metrics") == 9090, f"metrics port {ports}")
    for probe in ("livenessProbe", "readinessProbe"):
        h = c.get(probe, {}).get("httpGet", {})
        need(h.get("path") == "/healthz" and h.get("port") in ("metrics", 9090), f"{probe}: {h}")

svc = find("Service", "graphfs-operator-metrics", "graphfs-system")
need(len(svc) == 1 and svc[0]["spec"]["ports"][0]["port"] == 9090, "metrics Service on 9090")
pdb = find("PodDisruptionBudget", "graphfs-operator", "graphfs-system")
need(len(pdb) == (0 if mode == "single" else 1), f"PodDisruptionBudget count {len(pdb)}")

for e in errors:
    print("ASSERTION FAILED:", e)
sys.exit(1 if errors else 0)
PY
}

# A command that must fail because the values schema rejects its values.
rejects() { # helm-template-args...
  local out rc
  out="$("$HELM" template graphfs "$CHART" --namespace graphfs-system "$@" 2>&1 >/dev/null)"; rc=$?
  printf '%s\n' "$out"
  [ $rc -ne 0 ] || { echo "helm accepted: $*"; return 1; }
  grep -q "don't meet the specifications of the schema" <<<"$out" \
    || { echo "helm failed, but not because of the values schema"; return 1; }
}

# ---------------------------------------------------------------- offline checks
echo "helm: $("$HELM" version --short 2>/dev/null) at $HELM"

check "crds/graphfs.yaml == charts/graphfs/crds/graphfs.yaml" \
  diff -u "$REPO/crds/graphfs.yaml" "$CHART/crds/graphfs.yaml"

check "helm lint --strict (default values)" "$HELM" lint --strict "$CHART"
check "helm lint --strict (examples.enabled, watchNamespace=files)" \
  "$HELM" lint --strict "$CHART" --set examples.enabled=true --set watchNamespace=files

check "helm template (default values)" render "$WORK/default.yaml"
check "rendered defaults: ClusterRole rules, env, probes, security" assert_render "$WORK/default.yaml" default
check "helm template (examples.enabled, watchNamespace=files)" \
  render "$WORK/namespaced.yaml" --set examples.enabled=true --set watchNamespace=files
check "rendered watchNamespace: Role in files, nothing cluster-wide, examples" assert_render "$WORK/namespaced.yaml" namespaced
check "helm template (replicaCount=1: no PodDisruptionBudget)" render "$WORK/single.yaml" --set replicaCount=1
check "rendered replicaCount=1" assert_render "$WORK/single.yaml" single
check "helm template (rbac.create=false, serviceAccount.create=false: none rendered)" bash -c '
  "$1" template graphfs "$2" -n graphfs-system --set rbac.create=false --set serviceAccount.create=false \
    --set serviceAccount.name=existing > "$3" || exit 1
  ! grep -Eq "^kind: (ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$" "$3" || { echo "RBAC rendered"; exit 1; }
  grep -q "serviceAccountName: existing" "$3"' _ "$HELM" "$CHART" "$WORK/norbac.yaml"
check "serviceAccount.create=false without a name fails" bash -c '
  ! "$1" template graphfs "$2" --set serviceAccount.create=false 2>&1 | tee /dev/stderr | grep "^kind:" >/dev/null' _ "$HELM" "$CHART"
check "kubeVersion: 1.30.0 accepted" render "$WORK/kube130.yaml" --kube-version 1.30.0
check "kubeVersion: 1.29.9 refused" bash -c '
  out="$("$1" template graphfs "$2" --kube-version 1.29.9 2>&1)" && { echo "rendered for 1.29.9"; exit 1; }
  echo "$out"; grep -q "kubeVersion" <<<"$out"' _ "$HELM" "$CHART"

check "schema rejects replicaCount=0" rejects --set replicaCount=0
check "schema rejects replicaCount=two" rejects --set-string replicaCount=two
check "schema rejects logFormat=xml" rejects --set logFormat=xml
check "schema rejects leaseSeconds=2" rejects --set leaseSeconds=2
check "schema rejects image.pullPolicy=Sometimes" rejects --set image.pullPolicy=Sometimes
check "schema rejects an unknown top-level value" rejects --set replicas=3
check "schema rejects an unknown image value" rejects --set image.name=x
check "schema rejects watchNamespace=Not_A_Namespace" rejects --set watchNamespace=Not_A_Namespace
check "schema rejects metrics.port=70000" rejects --set metrics.port=70000
check "schema rejects apiUrlTemplate without http(s)://" rejects --set apiUrlTemplate=files-api.svc

# ---------------------------------------------------------------- kubeconform (offline)
# JSON schemas for the custom resources, from the CRDs: strict (objects
# without additionalProperties get false, as the API server would prune the
# field), int-or-string as string-or-integer, apiVersion/kind/metadata at the root.
crd_schemas() { # out-dir
  python3 - "$REPO/crds/graphfs.yaml" "$1" <<'PY'
import json, os, sys, yaml
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
def fix(s):
    if isinstance(s, dict):
        s = {k: fix(v) for k, v in s.items()}
        if s.pop("x-kubernetes-int-or-string", False):
            s.pop("type", None)
            s["oneOf"] = [{"type": "string"}, {"type": "integer"}]
        if s.get("nullable") and "type" in s:
            s["type"] = [s["type"], "null"]
        if "properties" in s and "additionalProperties" not in s \
                and not s.get("x-kubernetes-preserve-unknown-fields"):
            s["additionalProperties"] = False
        return s
    if isinstance(s, list):
        return [fix(v) for v in s]
    return s
for crd in yaml.safe_load_all(open(src)):
    if not crd:
        continue
    kind, group = crd["spec"]["names"]["kind"].lower(), crd["spec"]["group"]
    for v in crd["spec"]["versions"]:
        schema = fix(v["schema"]["openAPIV3Schema"])
        schema["properties"].update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                     "metadata": {"type": "object"}})
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        name = f"{kind}-{group.split('.')[0]}-{v['name']}.json"
        json.dump(schema, open(os.path.join(out, name), "w"), indent=1)
        print("schema", name)
PY
}
if [ -n "$KUBECONFORM" ] && [ -x "$KUBECONFORM" ]; then
  check "kubeconform: JSON schemas from crds/graphfs.yaml" crd_schemas "$WORK/schemas"
  # Built-in kinds: no schema offline, skipped (-ignore-missing-schemas); the
  # API server checks below validate them. Custom resources: strict.
  KC=("$KUBECONFORM" -strict -summary -ignore-missing-schemas
      -schema-location "$WORK/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json")
  check "kubeconform -strict (default render)" "${KC[@]}" "$WORK/default.yaml"
  check "kubeconform -strict (examples: GraphFS, TaggerPool; built-ins skipped)" bash -c '
    out="$("${@:2}" "$1")" || { echo "$out"; exit 1; }
    echo "$out"; grep -Eq "Valid: 2," <<<"$out"' _ "$WORK/namespaced.yaml" "${KC[@]}"
  # (kubeconform reads only files named *.yaml, *.yml or *.json.)
  check "kubeconform rejects a misspelt TaggerPool field" bash -c '
    sed "s/graphFsRef: files/graphFSRef: files/" "$1" > "${1%.yaml}-misspelt.yaml"
    out="$("${@:2}" "${1%.yaml}-misspelt.yaml")" && { echo "$out"; echo "accepted"; exit 1; }
    echo "$out"; grep -q "Invalid: 1," <<<"$out"' _ "$WORK/namespaced.yaml" "${KC[@]}"
  check "kubeconform rejects a mistyped examples value" bash -c '
    "$1" template graphfs "$2" -n graphfs-system --set examples.enabled=true \
      --set-string examples.graphfs.spec.api.replicas=two > "$3" || exit 1
    out="$("${@:4}" "$3")" && { echo "$out"; echo "accepted"; exit 1; }
    echo "$out"; grep -q "Invalid: 1," <<<"$out"' _ "$HELM" "$CHART" "$WORK/badexample.yaml" "${KC[@]}"
else
  skip "kubeconform" "not installed; tests/helm/install.sh builds it"
fi

# ---------------------------------------------------------------- real API server
apiserver_available() {
  [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ] && [ -x "$BIN/kubectl" ] \
    && [ -x "$REPO/tests/envtest/start.sh" ]
}
run_apiserver=0
case "$APISERVER_MODE" in
  0|no|false) skip "API server checks" "GRAPHFS_HELM_APISERVER=0" ;;
  1|yes|true)
    if apiserver_available; then run_apiserver=1
    else check "API server available (tests/envtest/install.sh)" false; fi ;;
  *)
    if apiserver_available; then run_apiserver=1
    else skip "API server checks" "tests/envtest not installed; run tests/envtest/install.sh"; fi ;;
esac

if [ $run_apiserver = 1 ]; then
  K="$BIN/kubectl"
  ENVTEST_DIR="$WORK/envtest"
  start_envtest() {
    "$REPO/tests/envtest/start.sh" "$ENVTEST_DIR" >/dev/null
  }
  check "envtest: kube-apiserver started" start_envtest
  if [ -f "$ENVTEST_DIR/kubeconfig" ]; then
    export KUBECONFIG="$ENVTEST_DIR/kubeconfig"
    SA="system:serviceaccount:graphfs-system:graphfs-operator"
    # The release namespace enforces (and warns about) the restricted Pod
    # Security Standard: the operator's pod template must meet it.
    check "helm install (CRDs from crds/, default values, restricted Pod Security)" bash -c '
      "$3" create namespace graphfs-system >/dev/null &&
      "$3" label namespace graphfs-system pod-security.kubernetes.io/enforce=restricted \
        pod-security.kubernetes.io/warn=restricted >/dev/null &&
      { "$1" install graphfs "$2" -n graphfs-system 2>&1 >/dev/null | tee "$4"; [ "${PIPESTATUS[0]}" = 0 ]; } &&
      { ! grep -i "violate PodSecurity" "$4" || { echo "the pod template violates restricted"; exit 1; }; } &&
      "$3" wait --for condition=Established --timeout 30s crd/graphfses.graphfs.io crd/taggerpools.graphfs.io &&
      "$3" -n graphfs-system get deployment/graphfs-operator serviceaccount/graphfs-operator \
        service/graphfs-operator-metrics pdb/graphfs-operator role/graphfs-operator-leader-election &&
      "$3" get clusterrole/graphfs-operator clusterrolebinding/graphfs-operator' _ "$HELM" "$CHART" "$K" "$WORK/install.stderr"

    # can-i VERB RESOURCE [flags...]: allowed; cannot: denied.
    can() { "$K" auth can-i --as "$SA" "$@" >/dev/null 2>&1 || { echo "denied: $*"; return 1; }; }
    cannot() { ! "$K" auth can-i --as "$SA" "$@" >/dev/null 2>&1 || { echo "allowed: $*"; return 1; }; }
    rbac_all_namespaces() {
      local ok=0 v r
      for v in get list watch patch; do can "$v" graphfses.graphfs.io -A || ok=1; done
      for v in get list watch; do can "$v" taggerpools.graphfs.io -A || ok=1; done
      can patch graphfses.graphfs.io --subresource status -n files || ok=1
      can patch taggerpools.graphfs.io --subresource status -n files || ok=1
      for r in deployments.apps statefulsets.apps services poddisruptionbudgets.policy \
               networkpolicies.networking.k8s.io ingresses.networking.k8s.io; do
        for v in get list watch create patch; do can "$v" "$r" -A || ok=1; done
        cannot update "$r" -n files || ok=1
      done
      can delete ingresses.networking.k8s.io -n files || ok=1
      cannot delete deployments.apps -n files || ok=1
      for v in get create delete; do can "$v" secrets -n files || ok=1; done
      cannot list secrets -n files || ok=1
      cannot watch secrets -A || ok=1
      cannot update secrets -n files || ok=1
      can list persistentvolumeclaims -n files || ok=1
      can delete persistentvolumeclaims -n files || ok=1
      cannot create persistentvolumeclaims -n files || ok=1
      can create events.events.k8s.io -n files || ok=1
      can patch events.events.k8s.io -n files || ok=1
      cannot delete graphfses.graphfs.io -n files || ok=1
      cannot create graphfses.graphfs.io -n files || ok=1
      cannot update graphfses.graphfs.io -n files || ok=1
      cannot get pods -n files || ok=1
      cannot list nodes || ok=1
      cannot get customresourcedefinitions.apiextensions.k8s.io || ok=1
      # Leader election: the release's Lease only.
      can create leases.coordination.k8s.io -n graphfs-system || ok=1
      can get leases.coordination.k8s.io/graphfs-operator -n graphfs-system || ok=1
      can update leases.coordination.k8s.io/graphfs-operator -n graphfs-system || ok=1
      cannot update leases.coordination.k8s.io/other -n graphfs-system || ok=1
      cannot create leases.coordination.k8s.io -n files || ok=1
      cannot delete leases.coordination.k8s.io/graphfs-operator -n graphfs-system || ok=1
      return $ok
    }
    check "RBAC (all namespaces): the operator's verbs allowed, others denied" rbac_all_namespaces

    # The operator's own requests, as its ServiceAccount (impersonated, with
    # the exact verbs and content types kube-rs sends; kubectl patch would GET
    # first): server-side apply of a new child (needs create and patch), the
    # finalizer JSON patch, a status merge patch, an event and its series patch.
    as_operator() { # method path content-type body
      # shellcheck disable=SC1091
      (. "$ENVTEST_DIR/env" &&
       curl -fsS --noproxy '*' --cacert "$ENVTEST_CA" -H "Authorization: Bearer $ENVTEST_TOKEN" \
         -H "Impersonate-User: $SA" -X "$1" -H "Content-Type: $3" --data-binary "$4" \
         "$ENVTEST_APISERVER_URL$2" -o /dev/null -w "$1 $2 -> %{http_code}\n")
    }
    operator_requests() {
      local ns=/api/v1/namespaces/files gfs=/apis/graphfs.io/v1alpha1/namespaces/files/graphfses/files
      local ev=/apis/events.k8s.io/v1/namespaces/files/events
      "$K" create namespace files >/dev/null &&
      "$K" -n files apply -f "$REPO/examples/graphfs.yaml" >/dev/null &&
      as_operator PATCH "$ns/services/files-api?fieldManager=graphfs-operator&force=true" application/apply-patch+yaml \
        '{"apiVersion":"v1","kind":"Service","metadata":{"name":"files-api"},"spec":{"ports":[{"name":"http","port":80}]}}' &&
      as_operator PATCH "$ns/services/files-api?fieldManager=graphfs-operator&force=true" application/apply-patch+yaml \
        '{"apiVersion":"v1","kind":"Service","metadata":{"name":"files-api"},"spec":{"ports":[{"name":"http","port":8080}]}}' &&
      as_operator PATCH "$gfs" application/json-patch+json \
        '[{"op":"test","path":"/metadata/finalizers","value":null},{"op":"add","path":"/metadata/finalizers","value":["graphfs.io/retention"]}]' &&
      as_operator PATCH "$gfs/status" application/merge-patch+json '{"status":{"apiReadyReplicas":0}}' &&
      as_operator POST "$ev" application/json \
        '{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"files.check"},"eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"graphfs-operator","reportingInstance":"check","action":"Reconcile","reason":"Check","type":"Normal","regarding":{"apiVersion":"graphfs.io/v1alpha1","kind":"GraphFS","name":"files","namespace":"files"}}' &&
      as_operator PATCH "$ev/files.check" application/merge-patch+json \
        '{"series":{"count":2,"lastObservedTime":"2026-01-01T00:00:01.000000Z"}}' &&
      as_operator POST "$ns/secrets" application/json \
        '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"files-api-tokens"},"stringData":{"tokens":"operator:x"}}' &&
      as_operator DELETE "$ns/secrets/files-api-tokens" application/json '{}' &&
      "$K" -n files patch graphfs files --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null &&
      "$K" -n files delete graphfs files >/dev/null
    }
    check "as the operator: server-side apply, finalizer and status patch, event, Secret" operator_requests

    # The operator binary itself, with nothing but the chart's ServiceAccount
    # token, reconciles the example GraphFS into its children.
    operator_with_chart_rbac() {
      local bin="${GRAPHFS_OPERATOR_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/graphfs/target}/release/graphfs-operator}"
      [ -x "$bin" ] || { echo "no operator binary at $bin (make release)"; return 1; }
      local token kc="$WORK/operator-kubeconfig" pid ok=1
      token="$("$K" -n graphfs-system create token graphfs-operator --duration 1h)" || return 1
      # shellcheck disable=SC1091
      (. "$ENVTEST_DIR/env" && cat > "$kc" <<KC
apiVersion: v1
kind: Config
clusters: [{name: envtest, cluster: {server: "$ENVTEST_APISERVER_URL", certificate-authority: "$ENVTEST_CA"}}]
users: [{name: operator, user: {token: "$token"}}]
contexts: [{name: operator, context: {cluster: envtest, user: operator}}]
current-context: operator
KC
      )
      "$K" create namespace files-live >/dev/null &&
      "$K" -n files-live apply -f "$REPO/examples/graphfs.yaml" >/dev/null || return 1
      KUBECONFIG="$kc" GRAPHFS_OPERATOR_NAMESPACE=graphfs-system GRAPHFS_OPERATOR_LEASE_NAME=graphfs-operator \
        GRAPHFS_OPERATOR_IDENTITY=chart-check GRAPHFS_OPERATOR_METRICS_ADDR=127.0.0.1:0 \
        "$bin" >"$WORK/operator.log" 2>&1 &
      pid=$!
      for _ in $(seq 1 60); do
        if "$K" -n files-live get deployment/files-api statefulset/files-minio statefulset/files-neo4j \
             service/files-api ingress/files-api secret/files-api-tokens >/dev/null 2>&1; then
          ok=0
          break
        fi
        sleep 1
      done
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
      if [ "$ok" != 0 ]; then
        echo "the operator did not reconcile the example; its log:"; tail -20 "$WORK/operator.log"
      fi
      ! grep -qi "forbidden" "$WORK/operator.log" || { echo "the operator was refused something:"; grep -i forbidden "$WORK/operator.log" | head -5; ok=1; }
      "$K" -n files-live patch graphfs files --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1
      "$K" -n files-live delete graphfs files --wait=false >/dev/null 2>&1
      return $ok
    }
    check "the operator with only the chart's RBAC reconciles the example GraphFS" operator_with_chart_rbac

    check "helm upgrade (examples.enabled: GraphFS and TaggerPool accepted by the API server)" bash -c '
      "$1" upgrade graphfs "$2" -n graphfs-system --reuse-values --set examples.enabled=true >/dev/null &&
      "$3" -n graphfs-system get graphfs/files taggerpool/main' _ "$HELM" "$CHART" "$K"
    check "API server rejects an invalid example (CEL: bodySizeLimit)" bash -c '
      out="$("$1" upgrade graphfs "$2" -n graphfs-system --reuse-values \
        --set examples.graphfs.spec.ingress.bodySizeLimit=lots 2>&1)" && { echo "accepted"; exit 1; }
      echo "$out"; grep -q "a size such as 512m or 4g" <<<"$out"' _ "$HELM" "$CHART"
    check "server-side dry run of the watchNamespace render" bash -c '
      "$1" template graphfs "$2" -n graphfs-system --set examples.enabled=true --set watchNamespace=files |
        "$3" apply --dry-run=server --server-side --force-conflicts --field-manager helm-check -f -' \
      _ "$HELM" "$CHART" "$K"
    check "helm upgrade (watchNamespace=files: Role there, no ClusterRole)" bash -c '
      "$1" upgrade graphfs "$2" -n graphfs-system --reuse-values --set watchNamespace=files >/dev/null &&
      "$3" -n files get role/graphfs-operator rolebinding/graphfs-operator &&
      ! "$3" get clusterrole/graphfs-operator 2>/dev/null &&
      ! "$3" get clusterrolebinding/graphfs-operator 2>/dev/null' _ "$HELM" "$CHART" "$K"
    rbac_one_namespace() {
      local ok=0
      "$K" create namespace other >/dev/null 2>&1 || true
      can watch graphfses.graphfs.io -n files || ok=1
      can create deployments.apps -n files || ok=1
      can get secrets -n files || ok=1
      can create events.events.k8s.io -n files || ok=1
      # The operator waits for its CRDs in the watched namespace only.
      cannot list graphfses.graphfs.io -A || ok=1
      cannot list taggerpools.graphfs.io -A || ok=1
      cannot watch graphfses.graphfs.io -A || ok=1
      cannot get graphfses.graphfs.io -n other || ok=1
      cannot create deployments.apps -n other || ok=1
      cannot get secrets -n other || ok=1
      cannot create events.events.k8s.io -n other || ok=1
      can update leases.coordination.k8s.io/graphfs-operator -n graphfs-system || ok=1
      return $ok
    }
    check "RBAC (watchNamespace=files): only files" rbac_one_namespace
    check "CRD upgrade step: kubectl apply --server-side --force-conflicts -f charts/graphfs/crds/" \
      "$K" apply --server-side --force-conflicts -f "$CHART/crds/"
    check "helm uninstall keeps the CRDs" bash -c '
      "$1" uninstall graphfs -n graphfs-system >/dev/null &&
      "$2" get crd/graphfses.graphfs.io crd/taggerpools.graphfs.io &&
      ! "$2" -n graphfs-system get deployment/graphfs-operator 2>/dev/null' _ "$HELM" "$K"
  fi
fi

# ---------------------------------------------------------------- summary
summary="helm: $PASSED passed, $FAILED failed"
[ $SKIPPED -eq 0 ] || summary+=", $SKIPPED skipped"
echo "$summary"
if [ $FAILED -ne 0 ]; then
  printf 'failed: %s\n' "${FAILED_NAMES[@]}"
  exit 1
fi
