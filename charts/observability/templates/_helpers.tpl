{{/*
Named templates of the observability chart. Component helpers take
`dict "ctx" $ "component" <name>`.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "observability.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix: fullnameOverride, the release name, or <release>-<chart name>. */}}
{{- define "observability.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of one component's object: <fullname>-<component>; args: dict ctx, component.
Beyond 63 characters it keeps the first 54 and appends 8 hex digits of the full name's
hash: plain truncation gave two dashboards one name, and one silently replaced the
other. Names stay valid, unique and stable for any release name Helm accepts.
*/}}
{{- define "observability.componentName" -}}
{{- $name := printf "%s-%s" (include "observability.fullname" .ctx) .component -}}
{{- if gt (len $name) 63 -}}
{{- $name = printf "%s-%s" ($name | trunc 54 | trimSuffix "-" | trimSuffix ".") ($name | sha256sum | trunc 8) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* Chart name and version, the value of the helm.sh/chart label. */}}
{{- define "observability.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name, instance and component; args: dict ctx, component. Never user labels. */}}
{{- define "observability.selectorLabels" -}}
app.kubernetes.io/name: {{ include "observability.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Full labels: selector labels, version, managed-by, part-of, helm.sh/chart, then commonLabels (chart labels win); args as selectorLabels. */}}
{{- define "observability.labels" -}}
{{- $labels := include "observability.selectorLabels" . | fromYaml -}}
{{- $_ := set $labels "helm.sh/chart" (include "observability.chart" .ctx) -}}
{{- $_ := set $labels "app.kubernetes.io/version" (.ctx.Chart.AppVersion | replace "+" "_" | trunc 63 | trimSuffix "-") -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" .ctx.Release.Service -}}
{{- $_ := set $labels "app.kubernetes.io/part-of" "llmstack" -}}
{{- toYaml (merge $labels .ctx.Values.commonLabels) -}}
{{- end -}}

{{/* Labels of the objects Prometheus selects (monitors, rules): full labels plus extraLabels and the kube-prometheus-stack `release` label; args as selectorLabels. */}}
{{- define "observability.prometheusLabels" -}}
{{- $labels := include "observability.labels" . | fromYaml -}}
{{- $labels = merge $labels .ctx.Values.extraLabels -}}
{{- if .ctx.Values.kubePrometheusStack.enabled -}}
{{- $_ := set $labels "release" .ctx.Values.kubePrometheusStack.release -}}
{{- end -}}
{{- toYaml $labels -}}
{{- end -}}

{{/* namespaceSelector of a monitor: the given selector, or the release namespace when empty; args: dict ctx, selector. */}}
{{- define "observability.namespaceSelector" -}}
{{- if .selector -}}
{{- toYaml .selector -}}
{{- else -}}
matchNames:
  - {{ .ctx.Release.Namespace }}
{{- end -}}
{{- end -}}

{{/* One scrape endpoint (PodMetricsEndpoint / Endpoint) as a YAML list item; args: dict s (a scrape.<component> map), relabelings (chart-managed, before the user's). */}}
{{- define "observability.endpoint" -}}
{{- $s := .s -}}
{{- $relabelings := concat (.relabelings | default list) $s.relabelings -}}
- port: {{ $s.port }}
  path: {{ $s.path }}
  interval: {{ $s.interval }}
  scrapeTimeout: {{ $s.scrapeTimeout }}
  {{- if hasKey $s "honorLabels" }}
  honorLabels: {{ $s.honorLabels }}
  {{- end }}
  {{- with $relabelings }}
  relabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.metricRelabelings }}
  metricRelabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Namespace of the dashboard ConfigMaps: dashboards.namespace or the release namespace. */}}
{{- define "observability.dashboardNamespace" -}}
{{- default .Release.Namespace .Values.dashboards.namespace -}}
{{- end -}}

{{/* Runbook URL of one alert: <alerts.runbookBaseUrl>#<alert name in lowercase>; args: dict ctx, alert. */}}
{{- define "observability.runbookUrl" -}}
{{- printf "%s#%s" .ctx.Values.alerts.runbookBaseUrl (lower .alert) -}}
{{- end -}}

{{/* Labels of one alert: severity, then alerts.labels (severity wins); args: dict ctx, severity. */}}
{{- define "observability.alertLabels" -}}
{{- toYaml (merge (dict "severity" .severity) .ctx.Values.alerts.labels) -}}
{{- end -}}

{{/* Regular expression of a query that aggregates to one series: sum(...) or sum by (...) (...). */}}
{{- define "observability.sumQueryRegex" -}}
^\s*sum(\s+by\s*\([^)]*\))?\s*\(
{{- end -}}

{{/* One autoscaling query with its placeholders filled; args: dict query, namespace, model. */}}
{{- define "observability.concreteQuery" -}}
{{- .query | replace "$namespace" .namespace | replace "$model" .model -}}
{{- end -}}

{{/* The metric an autoscaling query reads: the first name before a `{` selector. */}}
{{- define "observability.queryMetric" -}}
{{- regexFind "[a-zA-Z_:][a-zA-Z0-9_:]*\\{" . | trimSuffix "{" -}}
{{- end -}}

{{/* prometheus-adapter metricsQuery of an autoscaling query: the label selector becomes <<.LabelMatchers>> and the outer sum groups by <<.GroupBy>>. */}}
{{- define "observability.adapterQuery" -}}
{{- $q := regexReplaceAll "\\{[^}]*\\$namespace[^}]*\\}" . "{<<.LabelMatchers>>}" -}}
{{- regexReplaceAll (include "observability.sumQueryRegex" .) $q "sum by (<<.GroupBy>>) (" -}}
{{- end -}}

{{/* Cross-field checks the schema cannot express; each failure names the offending field. */}}
{{- define "observability.validate" -}}
{{- $v := .Values -}}
{{- if and $v.kubePrometheusStack.enabled (not $v.kubePrometheusStack.release) -}}
{{- fail "kubePrometheusStack.release is required when kubePrometheusStack.enabled is true (the release name of kube-prometheus-stack)" -}}
{{- end -}}
{{- range $component := list "vllm" "ray" "dcgm" -}}
{{- $s := get $v.scrape $component -}}
{{- if $s.enabled -}}
{{- if not (or $s.selector.matchLabels $s.selector.matchExpressions) -}}
{{- fail (printf "scrape.%s.selector needs matchLabels or matchExpressions (an empty selector would scrape every pod)" $component) -}}
{{- end -}}
{{- if and $s.namespaceSelector.any $s.namespaceSelector.matchNames -}}
{{- fail (printf "scrape.%s.namespaceSelector: set either any or matchNames, not both" $component) -}}
{{- end -}}
{{- with include "observability.scrapeTimeoutError" (dict "at" (printf "scrape.%s" $component) "m" $s) -}}
{{- fail . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $v.rules.enabled (not (or $v.rules.sources.vllm $v.rules.sources.ray)) -}}
{{- fail "rules.sources: enable vllm or ray (or set rules.enabled=false)" -}}
{{- end -}}
{{- if and $v.alerts.enabled (not $v.rules.enabled) -}}
{{- fail "alerts.enabled needs rules.enabled: the alerts read the llmstack:* recording rules" -}}
{{- end -}}
{{- if and $v.dashboards.enabled (not $v.rules.enabled) -}}
{{- fail "dashboards.enabled needs rules.enabled: the dashboards read the llmstack:* recording rules" -}}
{{- end -}}
{{- range $key, $query := $v.autoscalingQueries -}}
{{- if not (regexMatch (include "observability.sumQueryRegex" $) $query) -}}
{{- fail (printf "autoscalingQueries.%s must aggregate to one series with sum(...) or sum by (...) (...) (got %q)" $key $query) -}}
{{- end -}}
{{- range $placeholder := list "$namespace" "$model" -}}
{{- if not (contains $placeholder $query) -}}
{{- fail (printf "autoscalingQueries.%s must contain the placeholder %s (got %q)" $key $placeholder $query) -}}
{{- end -}}
{{- end -}}
{{- if not (include "observability.queryMetric" $query) -}}
{{- fail (printf "autoscalingQueries.%s must select a metric with a {...} label selector holding $namespace (got %q)" $key $query) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Milliseconds in a Prometheus duration (`1m30s`, `15s`, `500ms`), for comparing two of
them (Prometheus refuses a scrape config whose timeout exceeds its interval). Input must already match the schema's duration pattern.
*/}}
{{- define "observability.durationMs" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000 -}}
{{- $ms := 0 -}}
{{- range $part := regexFindAll "[0-9]+(ms|s|m|h|d|w|y)" (toString .) -1 -}}
{{- $ms = add $ms (mul (regexFind "^[0-9]+" $part | int64) (get $units (regexReplaceAll "^[0-9]+" $part ""))) -}}
{{- end -}}
{{- $ms -}}
{{- end -}}

{{/*
"" when a monitor's scrapeTimeout fits its interval (or either is left to Prometheus'
global setting), else the error naming both. Call with (dict "at" "<values path>" "m" <monitor values>).
*/}}
{{- define "observability.scrapeTimeoutError" -}}
{{- $m := .m -}}
{{- if and $m.interval $m.scrapeTimeout -}}
{{- if gt (include "observability.durationMs" $m.scrapeTimeout | int64) (include "observability.durationMs" $m.interval | int64) -}}
{{- printf "%s.scrapeTimeout (%s) must not exceed %s.interval (%s): Prometheus refuses such a scrape config" .at $m.scrapeTimeout .at $m.interval -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fail when the cluster Helm installs into does not serve an API a template needs: the
install would otherwise stop at "no matches for kind" without naming the value that
asked for it. Offline (`helm template`, Argo CD) there is no cluster to ask; Helm's
built-in API list lacks apiregistration.k8s.io, which every real API server serves,
so the check only runs when Helm has discovered the cluster's APIs.
Call with (dict "ctx" $ "api" "<group/version/Kind>" "install" "<what serves it>" "value" "<value that turns it off, or empty>").
*/}}
{{- define "observability.requireApi" -}}
{{- $apis := .ctx.Capabilities.APIVersions -}}
{{- if and ($apis.Has "apiregistration.k8s.io/v1") (not ($apis.Has .api)) -}}
{{- $off := ternary (printf ", or set %s to false" .value) "" (not (empty .value)) -}}
{{- fail (printf "%sthe cluster does not serve %s: install %s first%s" (ternary (printf "%s: " .value) "" (not (empty .value))) .api .install $off) -}}
{{- end -}}
{{- end -}}
