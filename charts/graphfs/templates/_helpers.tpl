{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "graphfs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix: the release name, plus the chart name unless the release
name already contains it. Truncated to 46 characters so that the longest
DNS-label name, the Service "<fullname>-operator-metrics", fits 63.
*/}}
{{- define "graphfs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 46 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 46 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 46 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the operator's objects (Deployment, Service, PDB, Roles, Lease).
*/}}
{{- define "graphfs.operatorName" -}}
{{- printf "%s-operator" (include "graphfs.fullname" .) }}
{{- end }}

{{/*
Chart label value: name-version.
*/}}
{{- define "graphfs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels of the operator pods (immutable in a Deployment: keep stable).
*/}}
{{- define "graphfs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "graphfs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Labels of everything the chart creates, without a component.
*/}}
{{- define "graphfs.baseLabels" -}}
helm.sh/chart: {{ include "graphfs.chart" . }}
app.kubernetes.io/name: {{ include "graphfs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: graphfs
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels of the operator's objects.
*/}}
{{- define "graphfs.labels" -}}
{{ include "graphfs.baseLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
The operator's ServiceAccount name.
*/}}
{{- define "graphfs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "graphfs.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator image: repository@digest, or repository:tag (tag defaults to the
chart's appVersion).
*/}}
{{- define "graphfs.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the leader-election Lease (GRAPHFS_OPERATOR_LEASE_NAME); one per
release, so that two releases in one namespace do not share a leader.
*/}}
{{- define "graphfs.leaseName" -}}
{{- include "graphfs.operatorName" . }}
{{- end }}

{{/*
The RBAC rules for the namespaced resources the operator reconciles: its two
custom resources, the children it server-side applies, the Secrets and PVCs it
manages, and the events it publishes on its resources. Used by the ClusterRole
(all namespaces) or by the Role in watchNamespace. Keep in step with
operator/src/{main,reconcile,queue,leader}.rs.
*/}}
{{- define "graphfs.operatorRules" -}}
# Watch GraphFS and TaggerPool (controllers, reflector), read a pool's GraphFS,
# add/remove the graphfs.io/retention finalizer on GraphFS (JSON patch).
- apiGroups: ["graphfs.io"]
  resources: ["graphfses"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["graphfs.io"]
  resources: ["taggerpools"]
  verbs: ["get", "list", "watch"]
# Status written with merge patches.
- apiGroups: ["graphfs.io"]
  resources: ["graphfses/status", "taggerpools/status"]
  verbs: ["patch"]
# Children: server-side apply (patch; create when apply creates the object),
# watched through the controllers' owns(), read for the tagger's replicas.
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "patch"]
# The Ingress is also deleted when spec.ingress.enabled turns false.
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# A Gateway API HTTPRoute instead of the Ingress when spec.ingress.gateway
# is set; deleted when it is unset again.
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "create", "patch", "delete"]
# Generated credentials (created once, never updated), referenced Secrets
# checked for existence, the API token read to poll the queue depth, deleted
# on retention: Delete. No list or watch: Secrets are read by name only.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "delete"]
# Volumes of managed MinIO/Neo4j, deleted on retention: Delete.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["list", "delete"]
# Events on GraphFS/TaggerPool objects, in their namespace (kube-runtime's
# Recorder creates an event, then patches its series when it repeats).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
