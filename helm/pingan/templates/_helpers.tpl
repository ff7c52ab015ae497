{{/*
Facts of the pingan binary, fixed by the code and not by values: the full gRPC service name each
service reports health under, and which service keeps live state in Redis.
*/}}
{{- define "pingan.catalog" -}}
intake:
  grpcService: pingan.intake.v1.IntakeService
  redis: false
triage:
  grpcService: pingan.triage.v1.TriageService
  redis: false
dispatch:
  grpcService: pingan.dispatch.v1.DispatchService
  redis: true
grid-registry:
  grpcService: pingan.grid.v1.GridRegistryService
  redis: false
case-followup:
  grpcService: pingan.followup.v1.CaseFollowupService
  redis: false
complaints-audit:
  grpcService: pingan.audit.v1.ComplaintsAuditService
  redis: false
{{- end -}}

{{- define "pingan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fullname: the release name, unless it does not already contain the chart name. */}}
{{- define "pingan.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pingan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object; call with (dict "root" $ "component" "intake"). */}}
{{- define "pingan.labels" -}}
helm.sh/chart: {{ include "pingan.chart" .root }}
{{ include "pingan.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: pingan
{{- end -}}

{{/* Selector labels; call with (dict "root" $ "component" "intake"). */}}
{{- define "pingan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pingan.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* Names of the enabled services, as a YAML list (use with fromYamlArray). */}}
{{- define "pingan.enabledServices" -}}
{{- $out := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}
{{- $out = append $out $name -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Effective settings of one service: serviceDefaults, each key replaced as a whole by the service's
own key when it sets one, plus the catalog facts. Call with (dict "root" $ "name" "intake");
returns YAML (use with fromYaml).
*/}}
{{- define "pingan.serviceConfig" -}}
{{- $root := .root -}}
{{- $catalog := include "pingan.catalog" $root | fromYaml -}}
{{- if not (hasKey $catalog .name) -}}
{{- fail (printf "services.%s: unknown service (known: %s)" .name (keys $catalog | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $cfg := deepCopy $root.Values.serviceDefaults -}}
{{- range $key, $value := (index $root.Values.services .name) -}}
{{- $_ := set $cfg $key $value -}}
{{- end -}}
{{- $_ := set $cfg "name" .name -}}
{{- $_ := set $cfg "grpcService" (index $catalog .name).grpcService -}}
{{- $_ := set $cfg "usesRedis" (index $catalog .name).redis -}}
{{- $_ := set $cfg "fullname" (printf "%s-%s" (include "pingan.fullname" $root) .name) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{- define "pingan.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the connection URLs and the auth and PII keys. */}}
{{- define "pingan.secretName" -}}
{{- default (printf "%s-connections" (include "pingan.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
The two keys every service needs, the same for all six: auth-secret (PINGAN_AUTH_SECRET, the HS256
secret that signs the services' own tokens and checks every caller's) and pii-key (PINGAN_PII_KEY,
the keyed hash and AES-GCM key of phone and ID numbers). Each is, in order: secrets.authSecret /
secrets.piiKey when set; the value already in the release's Secret (lookup, so upgrades keep it;
`helm template` and client-side dry runs see no cluster and get fresh values); else 48 random
characters. Computed once per rendering and kept in the root context, so that the Secret and the
Deployments' checksum/secret see the same values. Returns YAML (use with fromYaml).
*/}}
{{- define "pingan.appSecrets" -}}
{{- if not (hasKey . "pinganAppSecrets") -}}
{{- $found := lookup "v1" "Secret" .Release.Namespace (include "pingan.secretName" .) | default dict -}}
{{- $given := dict "auth-secret" .Values.secrets.authSecret "pii-key" .Values.secrets.piiKey -}}
{{- $out := dict -}}
{{- range $key, $value := $given -}}
{{- $stored := dig "data" $key "" $found -}}
{{- if $value -}}
{{- $_ := set $out $key $value -}}
{{- else if $stored -}}
{{- $_ := set $out $key (b64dec $stored) -}}
{{- else -}}
{{- $_ := set $out $key (randAlphaNum 48) -}}
{{- end -}}
{{- end -}}
{{- $_ := set . "pinganAppSecrets" $out -}}
{{- end -}}
{{- toYaml (get . "pinganAppSecrets") -}}
{{- end -}}

{{- define "pingan.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "pingan.fullname" .) -}}
{{- end -}}

{{- define "pingan.redis.fullname" -}}
{{- printf "%s-redis" (include "pingan.fullname" .) -}}
{{- end -}}

{{/*
The wiring of the binary: for each service, the peers it must reach (the services its events are
routed to and the services it calls). files/wiring.json is `pingan wiring --json`, kept equal to the
binary's routing table by helm/check.sh (--update rewrites it) and by the pingan crate's tests.
*/}}
{{- define "pingan.wiring" -}}
{{- $wiring := .Files.Get "files/wiring.json" | fromJson -}}
{{- if not $wiring.services -}}
{{- fail "files/wiring.json is missing or empty: run `pingan wiring --json > helm/pingan/files/wiring.json`" -}}
{{- end -}}
{{- toYaml $wiring.services -}}
{{- end -}}

{{/*
PINGAN_PEERS of one service; call with (dict "root" $ "cfg" $cfg). Every peer the service must reach
(pingan.wiring) at its in-cluster Service, http://<fullname>-<peer>:<grpc port> (https with
tls.enabled); then extraPeers,
which add peers or replace URLs. A required peer that this release does not run and extraPeers
does not give fails the rendering: `pingan serve` would refuse to start without it.
*/}}
{{- define "pingan.peers" -}}
{{- $root := .root -}}
{{- $cfg := .cfg -}}
{{- $fullname := include "pingan.fullname" $root -}}
{{- $wiring := include "pingan.wiring" $root | fromYaml -}}
{{- $needs := index $wiring $cfg.name | default dict -}}
{{- $peers := dict -}}
{{- range $peer := $needs.required_peers | default list -}}
{{- $peerValues := index $root.Values.services $peer | default dict -}}
{{- if $peerValues.enabled -}}
{{- $_ := set $peers $peer (printf "%s://%s-%s:%v" (ternary "https" "http" $root.Values.tls.enabled) $fullname $peer $root.Values.ports.grpc) -}}
{{- else if not (hasKey ($cfg.extraPeers | default dict) $peer) -}}
{{- fail (printf "services.%s needs the peer %s (pingan wiring %s), which this release does not run: enable services.%s or give its URL in services.%s.extraPeers" $cfg.name $peer $cfg.name $peer $cfg.name) -}}
{{- end -}}
{{- end -}}
{{- range $peer, $url := $cfg.extraPeers -}}
{{- $_ := set $peers $peer $url -}}
{{- end -}}
{{- $pairs := list -}}
{{- range $peer, $url := $peers -}}
{{- $pairs = append $pairs (printf "%s=%s" $peer $url) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The prometheus selector every rule carries, rendered; empty when unset. */}}
{{- define "pingan.metricSelector" -}}
{{- with .Values.prometheusRule.metricSelector -}}
{{- tpl . $ -}}
{{- end -}}
{{- end -}}

{{/* The environment of one service (its ConfigMap's data); call with (dict "root" $ "cfg" $cfg). */}}
{{- define "pingan.configData" -}}
{{- $root := .root -}}
{{- $cfg := .cfg -}}
PINGAN_LISTEN: {{ printf "0.0.0.0:%v" $root.Values.ports.grpc | quote }}
PINGAN_METRICS_LISTEN: {{ printf "0.0.0.0:%v" $root.Values.ports.metrics | quote }}
PINGAN_LOG_FORMAT: {{ $cfg.logFormat | quote }}
RUST_LOG: {{ $cfg.rustLog | quote }}
PINGAN_REQUEST_TIMEOUT: {{ $cfg.requestTimeout | quote }}
PINGAN_CONCURRENCY_LIMIT: {{ $cfg.concurrencyLimit | int | quote }}
PINGAN_SHUTDOWN_GRACE: {{ $cfg.shutdownGrace | quote }}
PINGAN_HEALTH_INTERVAL: {{ $cfg.healthInterval | quote }}
PINGAN_DATABASE_MAX_CONNECTIONS: {{ $cfg.databaseMaxConnections | int | quote }}
PINGAN_CLEAR_READ_REASON: {{ $cfg.clearReadReason | default "optional" | quote }}
PINGAN_AUDIT_WITNESS_INTERVAL_MS: {{ ternary 60000 $cfg.auditWitnessIntervalMs (kindIs "invalid" $cfg.auditWitnessIntervalMs) | int | quote }}
{{- with $cfg.auditCheckpointPublicKeys }}
PINGAN_AUDIT_CHECKPOINT_PUBLIC_KEY: {{ . | quote }}
{{- end }}
PINGAN_PEERS: {{ include "pingan.peers" (dict "root" $root "cfg" $cfg) | quote }}
{{- if and (eq $cfg.name "triage") $root.Values.hotlineGateway.url }}
PINGAN_HOTLINE_GATEWAY: {{ $root.Values.hotlineGateway.url | quote }}
{{- end }}
{{- with $root.Values.events }}
PINGAN_EVENTS_MAX_ATTEMPTS: {{ .maxAttempts | int | quote }}
PINGAN_EVENTS_INITIAL_BACKOFF: {{ .initialBackoff | quote }}
PINGAN_EVENTS_MAX_BACKOFF: {{ .maxBackoff | quote }}
PINGAN_EVENTS_POLL_INTERVAL: {{ .pollInterval | quote }}
PINGAN_EVENTS_LEASE: {{ .lease | quote }}
PINGAN_EVENTS_DELIVERY_TIMEOUT: {{ .deliveryTimeout | quote }}
PINGAN_EVENTS_BATCH: {{ .batch | int | quote }}
PINGAN_EVENTS_RETENTION: {{ .retention | quote }}
{{- end }}
{{- if $cfg.usesRedis }}
PINGAN_REDIS_PREFIX: {{ $root.Values.redis.prefix | quote }}
{{- end }}
{{- with $root.Values.tls }}
{{- if .enabled }}
PINGAN_TLS_CERT: {{ printf "%s/tls.crt" .mountPath | quote }}
PINGAN_TLS_KEY: {{ printf "%s/tls.key" .mountPath | quote }}
PINGAN_TLS_CA: {{ printf "%s/ca.crt" .mountPath | quote }}
{{- if .mutual }}
PINGAN_TLS_CLIENT_CA: {{ printf "%s/ca.crt" .mountPath | quote }}
PINGAN_TLS_CLIENT_AUTH: {{ .clientAuth | quote }}
{{- end }}
PINGAN_TLS_RELOAD_INTERVAL: {{ .reloadInterval | quote }}
PINGAN_HEALTH_LISTEN: {{ printf "0.0.0.0:%v" $root.Values.ports.health | quote }}
{{- end }}
{{- end }}
{{- if $root.Values.otel.enabled }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ required "otel.endpoint is required when otel.enabled" $root.Values.otel.endpoint | quote }}
{{- end }}
{{- range $key, $value := $cfg.env }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* The TLS Secret of one service; call with (dict "root" $ "name" "intake"). */}}
{{- define "pingan.tlsSecretName" -}}
{{- $given := index (.root.Values.tls.secretNames | default dict) .name -}}
{{- default (printf "%s-%s-tls" (include "pingan.fullname" .root) .name) $given -}}
{{- end -}}

{{/* A NetworkPolicyPeer matching every enabled Pingan service pod of this release. */}}
{{- define "pingan.servicePodsPeer" -}}
- podSelector:
    matchLabels:
      {{- include "pingan.selectorLabels" (dict "root" .) | nindent 6 }}
    matchExpressions:
      - key: app.kubernetes.io/component
        operator: In
        values:
          {{- include "pingan.enabledServices" . | nindent 10 }}
{{- end -}}

{{/* NetworkPolicy port list; call with (dict "ports" (list 53) "protocols" (list "UDP" "TCP")). */}}
{{- define "pingan.policyPorts" -}}
{{- $out := list -}}
{{- range $port := .ports -}}
{{- range $protocol := ($.protocols | default (list "TCP")) -}}
{{- $out = append $out (dict "port" (int $port) "protocol" $protocol) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
