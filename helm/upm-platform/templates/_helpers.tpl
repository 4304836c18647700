{{/* Names and labels */}}

{{- define "upm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "upm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one component's objects: <release>-<component>. Args: (list $ component) */}}
{{- define "upm.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "upm.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "upm.chartLabel" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select one component's pods; never change them after the first install. Args: (list $ component) */}}
{{- define "upm.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end -}}

{{/* Args: (list $ component) */}}
{{- define "upm.labels" -}}
{{- $root := index . 0 -}}
{{ include "upm.selectorLabels" . }}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/part-of: {{ include "upm.name" $root }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ include "upm.chartLabel" $root }}
{{- end -}}

{{/* Image reference, a digest winning over a tag. Args: (list $ imageOverride) */}}
{{- define "upm.image" -}}
{{- $root := index . 0 -}}
{{- $image := mergeOverwrite (deepCopy $root.Values.image) (index . 1 | default dict) -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "upm.secretName" -}}
{{- default (include "upm.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
What each service needs besides the common settings: the Secret key of its database URL, Kafka, Redis, the
saga timing, the AMS client. Ports are in values (services.<name>.port) and must match CONTRACTS §4.
*/}}
{{- define "upm.traits" -}}
terminal-gateway: {kafka: true, database: GATEWAY_DATABASE_URL, redis: true, adminToken: true}
payment-orchestrator: {kafka: true, database: ORCHESTRATOR_DATABASE_URL, saga: true}
alipay-connector: {kafka: true, database: CONNECTOR_DATABASE_URL, alipay: true, adminToken: true}
settlement: {kafka: true, database: SETTLEMENT_DATABASE_URL, adminToken: true, settlementAdminToken: true}
notification: {kafka: true, database: NOTIFICATION_DATABASE_URL, adminToken: true, webhookSecretKeys: true}
alipay-sandbox: {singleton: true}
{{- end -}}

{{/* The effective settings of one service: serviceDefaults overlaid with its own entry. Args: (list $ name) */}}
{{- define "upm.service" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- /* merged by hand: sprig's mergeOverwrite ignores false and 0, so `autoscaling.enabled: false` would not stick */ -}}
{{- $svc := deepCopy $root.Values.serviceDefaults -}}
{{- range $key, $value := deepCopy (index $root.Values.services $name) -}}
{{- if and (kindIs "map" $value) (kindIs "map" (get $svc $key)) -}}
{{- $merged := get $svc $key -}}
{{- range $k, $v := $value -}}
{{- $_ := set $merged $k $v -}}
{{- end -}}
{{- else -}}
{{- $_ := set $svc $key $value -}}
{{- end -}}
{{- end -}}
{{- $traits := index (include "upm.traits" $root | fromYaml) $name -}}
{{- $_ := set $svc "traits" $traits -}}
{{- if $traits.singleton -}}
{{- $_ := set $svc "replicaCount" 1 -}}
{{- $_ := set $svc "autoscaling" (dict "enabled" false) -}}
{{- $_ := set $svc "podDisruptionBudget" (dict "enabled" false) -}}
{{- end -}}
{{- toYaml $svc -}}
{{- end -}}

{{- define "upm.alipayBaseUrl" -}}
{{- if .Values.alipay.baseUrl -}}
{{- .Values.alipay.baseUrl -}}
{{- else if (index .Values.services "alipay-sandbox").enabled -}}
{{- printf "http://%s:%v" (include "upm.componentName" (list . "alipay-sandbox")) (index .Values.services "alipay-sandbox").port -}}
{{- else -}}
{{- fail "alipay.baseUrl is required when the sandbox (services.alipay-sandbox) is disabled" -}}
{{- end -}}
{{- end -}}

{{/*
"true" while the in-cluster sandbox stands in for Alipay: it is enabled and the connector points at it
(alipay.baseUrl empty). Only then may credentials be missing and the admin APIs take the published development
token: a sandbox enabled beside a real AMS endpoint relaxes nothing.
*/}}
{{- define "upm.sandboxStandsIn" -}}
{{- if and (index .Values.services "alipay-sandbox").enabled (not .Values.alipay.baseUrl) -}}
true
{{- end -}}
{{- end -}}

{{/*
"true" when the chart makes the AMS keys itself: the sandbox stands in for Alipay and no keys were given
(neither secrets.existingSecret nor secrets.values.ALIPAY_PRIVATE_KEY / ALIPAY_PUBLIC_KEY). The connector then
signs with a generated merchant key and verifies with the sandbox's, and the sandbox knows the merchant's.
*/}}
{{- define "upm.sandboxKeys" -}}
{{- $v := .Values.secrets.values -}}
{{- if and (include "upm.sandboxStandsIn" .) (not .Values.secrets.existingSecret) (not $v.ALIPAY_PRIVATE_KEY) (not $v.ALIPAY_PUBLIC_KEY) -}}
true
{{- end -}}
{{- end -}}

{{/*
"true" when the sandbox runs with a Secret managed outside the chart (secrets.existingSecret): the sandbox then
reads its keys from that Secret too, as the connector reads its credentials, so that each side verifies what
the other signs without settings made by hand.
*/}}
{{- define "upm.sandboxKeysFromSecret" -}}
{{- if and (index .Values.services "alipay-sandbox").enabled .Values.secrets.existingSecret -}}
true
{{- end -}}
{{- end -}}

{{/*
A fixed fee setting (SETTLEMENT_FEE_MINOR, SANDBOX_FEE_MINOR): the schema checks its shape; a currency named twice,
which a pattern cannot see, or one the platform does not take (SUPPORTED_CURRENCIES of libs/contracts; the deploy
check settlement-fees.js tries each), the service refuses too. Takes (list <value> <values path> <service> <variable>).
*/}}
{{- define "upm.feeMinorNamesEachCurrencyOnce" -}}
{{- $supported := splitList " " "AUD BDT BRL CAD CHF CLP CNY EUR GBP HKD IDR JPY KRW MOP MXN MYR NZD PEN PHP PKR PLN SGD THB TWD USD VND" -}}
{{- $named := dict -}}
{{- range $ccy := regexFindAll "[A-Z]{3}" (toString (default "" (index . 0))) -1 -}}
{{- if not (has $ccy $supported) -}}
{{- fail (printf "%s names %s, a currency the platform does not take: %s would refuse to start (%s)" (index $ 1) $ccy (index $ 2) (index $ 3)) -}}
{{- end -}}
{{- if hasKey $named $ccy -}}
{{- fail (printf "%s names %s twice: %s would refuse to start (%s)" (index $ 1) $ccy (index $ 2) (index $ 3)) -}}
{{- end -}}
{{- $_ := set $named $ccy true -}}
{{- end -}}
{{- end -}}

{{/* the keys of secrets.existingSecret that the sandbox and the connector read while the sandbox runs */}}
{{- define "upm.sandboxSecretKeys" -}}ALIPAY_CLIENT_ID ALIPAY_PRIVATE_KEY ALIPAY_PUBLIC_KEY SANDBOX_PRIVATE_KEY SANDBOX_MERCHANT_PUBLIC_KEY{{- end -}}

{{/*
Fails the install or upgrade when secrets.existingSecret is in the cluster but lacks a key the sandbox and the
connector read from it, naming each one: the pods would otherwise wait in CreateContainerConfigError, or, before
the sandbox read its keys from there, start with keys that do not fit. `helm template` without a cluster sees no
Secret and checks nothing.
*/}}
{{- define "upm.requireSandboxSecretKeys" -}}
{{- $name := .Values.secrets.existingSecret -}}
{{- $given := (lookup "v1" "Secret" .Release.Namespace $name).data | default dict -}}
{{- if $given -}}
{{- $missing := list -}}
{{- range $key := splitList " " (include "upm.sandboxSecretKeys" .) -}}
{{- if not (hasKey $given $key) -}}
{{- $missing = append $missing $key -}}
{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "the sandbox (services.alipay-sandbox.enabled) reads its keys from secrets.existingSecret %s, which has no %s: add the sandbox's private key (SANDBOX_PRIVATE_KEY), the merchant's public key (SANDBOX_MERCHANT_PUBLIC_KEY) and the connector's ALIPAY_CLIENT_ID, ALIPAY_PRIVATE_KEY and ALIPAY_PUBLIC_KEY (the sandbox's public key), docs/deployment.md; or disable the sandbox, as values-production.yaml does" $name (join ", " $missing)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "upm.sandboxKeysSecretName" -}}{{ include "upm.componentName" (list . "sandbox-keys") }}{{- end -}}

{{/* the connector's client id while the sandbox stands in for Alipay: the one given, else the connector's default */}}
{{- define "upm.sandboxClientId" -}}{{ .Values.secrets.values.ALIPAY_CLIENT_ID | default "SANDBOX_UPM_LOCAL" }}{{- end -}}

{{/* where the sandbox finds the merchant's public key (SANDBOX_CLIENTS), mounted from the keys Secret */}}
{{- define "upm.sandboxClientKeyDir" -}}/etc/upm/sandbox-clients{{- end -}}

{{- define "upm.sandboxReportDir" -}}/var/lib/upm/sandbox-reports{{- end -}}

{{/* where settlement finds its SFTP private key, mounted from the Secret */}}
{{- define "upm.sftpKeyDir" -}}/etc/upm/sftp{{- end -}}

{{/* Non-secret environment of one service, as ConfigMap data. Args: (list $ name svc) */}}
{{- define "upm.configData" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $svc := index . 2 -}}
{{- $v := $root.Values -}}
{{- $graceMs := mul (sub (sub (int $svc.terminationGracePeriodSeconds) (int $svc.preStopSleepSeconds)) 3) 1000 -}}
{{- if lt $graceMs 5000 -}}
{{- fail (printf "%s: terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds (%d) by at least 8 s: 3 s of margin and 5 s for the service to drain (SHUTDOWN_GRACE_MS would be %d ms)" $name (int $svc.terminationGracePeriodSeconds) (int $svc.preStopSleepSeconds) $graceMs) -}}
{{- end -}}
{{- $data := dict
  "PORT" (int64 $svc.port | toString)
  "HOST" "0.0.0.0"
  "LOG_LEVEL" $v.config.logLevel
  "SHUTDOWN_GRACE_MS" (toString $graceMs)
  "OTEL_SERVICE_NAME" $name
-}}
{{- if $v.config.otlpEndpoint -}}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" $v.config.otlpEndpoint -}}
{{- end -}}
{{- if $svc.traits.kafka -}}
{{- $_ := set $data "KAFKA_BROKERS" $v.config.kafka.brokers -}}
{{- $_ := set $data "KAFKA_TOPIC_PREFIX" $v.config.kafka.topicPrefix -}}
{{- $_ := set $data "INBOX_RETENTION_HOURS" (int64 $v.config.kafka.inboxRetentionHours | toString) -}}
{{- end -}}
{{- /* 0: each service's own pool size (apps/<app>/src/config.ts) */ -}}
{{- if and $svc.traits.database $v.config.databasePoolSize -}}
{{- $_ := set $data "DATABASE_POOL_SIZE" (int64 $v.config.databasePoolSize | toString) -}}
{{- end -}}
{{- if $svc.traits.saga -}}
{{- $_ := set $data "SAGA_FIRST_INQUIRY_DELAY_MS" (int64 $v.saga.firstInquiryDelayMs | toString) -}}
{{- $_ := set $data "SAGA_INQUIRY_INTERVAL_MS" (int64 $v.saga.inquiryIntervalMs | toString) -}}
{{- $_ := set $data "SAGA_MAX_INQUIRIES" (int64 $v.saga.maxInquiries | toString) -}}
{{- $_ := set $data "SAGA_CANCEL_RETRY_DELAYS_MS" (toString $v.saga.cancelRetryDelaysMs) -}}
{{- /* the saga waits this long (plus its grace) for the connector's answer before it inquires */ -}}
{{- $_ := set $data "ALIPAY_HTTP_TIMEOUT_MS" (int64 $v.alipay.httpTimeoutMs | toString) -}}
{{- end -}}
{{- if $svc.traits.alipay -}}
{{- $_ := set $data "ALIPAY_BASE_URL" (include "upm.alipayBaseUrl" $root) -}}
{{- $_ := set $data "ALIPAY_HTTP_TIMEOUT_MS" (int64 $v.alipay.httpTimeoutMs | toString) -}}
{{- end -}}
{{- if eq $name "terminal-gateway" -}}
{{- $_ := set $data "GATEWAY_SHED_AFTER_MS" (int64 $v.config.gateway.shedAfterMs | toString) -}}
{{- $_ := set $data "GATEWAY_ANSWER_TARGET_MS" (int64 $v.config.gateway.answerTargetMs | toString) -}}
{{- $_ := set $data "TERMINAL_EVENTS_RETENTION_HOURS" (int64 $v.config.gateway.terminalEventsRetentionHours | toString) -}}
{{- $_ := set $data "SSE_HEARTBEAT_MS" (int64 $v.config.gateway.sseHeartbeatMs | toString) -}}
{{- $_ := set $data "SSE_STREAMS_PER_TERMINAL" (int64 $v.config.gateway.sseStreamsPerTerminal | toString) -}}
{{- $_ := set $data "SSE_STREAM_LEASE_MS" (int64 $v.config.gateway.sseStreamLeaseMs | toString) -}}
{{- end -}}
{{- if eq $name "alipay-connector" -}}
{{- $_ := set $data "UNPARSABLE_NOTIFICATIONS_RETENTION_DAYS" (int64 $v.config.connector.unparsableRetentionDays | toString) -}}
{{- end -}}
{{- if eq $name "notification" -}}
{{- $w := $v.config.notification.webhooks -}}
{{- $_ := set $data "WEBHOOK_TIMEOUT_MS" (int64 $w.timeoutMs | toString) -}}
{{- $_ := set $data "WEBHOOK_RETRY_BASE_MS" (int64 $w.retryBaseMs | toString) -}}
{{- $_ := set $data "WEBHOOK_RETRY_MAX_DELAY_MS" (int64 $w.retryMaxDelayMs | toString) -}}
{{- $_ := set $data "WEBHOOK_RETRY_HORIZON_MS" (int64 $w.retryHorizonMs | toString) -}}
{{- $_ := set $data "WEBHOOK_WORKER_CONCURRENCY" (int64 $w.workerConcurrency | toString) -}}
{{- $_ := set $data "WEBHOOK_PER_ENDPOINT_CONCURRENCY" (int64 $w.perEndpointConcurrency | toString) -}}
{{- $_ := set $data "WEBHOOK_POLL_MS" (int64 $w.pollMs | toString) -}}
{{- $_ := set $data "WEBHOOK_SECRET_OVERLAP_MS" (int64 $w.secretOverlapMs | toString) -}}
{{- $_ := set $data "WEBHOOK_LOG_RETENTION_DAYS" (int64 $w.logRetentionDays | toString) -}}
{{- end -}}
{{- if eq $name "settlement" -}}
{{- $st := $v.config.settlement -}}
{{- include "upm.feeMinorNamesEachCurrencyOnce" (list $st.feeMinor "config.settlement.feeMinor" "settlement" "SETTLEMENT_FEE_MINOR") -}}
{{- /* unset or empty: settlement's default (10) */ -}}
{{- with $st.feeMinor }}{{ $_ := set $data "SETTLEMENT_FEE_MINOR" (toString .) }}{{ end -}}
{{- $_ := set $data "SETTLEMENT_FEE_RATE_BPS" (int64 $st.feeRateBps | toString) -}}
{{- $_ := set $data "SETTLEMENT_POLL_INTERVAL_MS" (int64 $st.pollIntervalMs | toString) -}}
{{- if $st.sftp.host -}}
{{- $_ := set $data "SETTLEMENT_SFTP_HOST" $st.sftp.host -}}
{{- $_ := set $data "SETTLEMENT_SFTP_PORT" (int64 $st.sftp.port | toString) -}}
{{- $_ := set $data "SETTLEMENT_SFTP_REMOTE_DIR" $st.sftp.remoteDir -}}
{{- with $st.sftp.username }}{{ $_ := set $data "SETTLEMENT_SFTP_USERNAME" . }}{{ end -}}
{{- with $st.sftp.hostKeySha256 }}{{ $_ := set $data "SETTLEMENT_SFTP_HOST_KEY_SHA256" . }}{{ end -}}
{{- if eq $st.sftp.auth "privateKey" -}}
{{- $_ := set $data "SETTLEMENT_SFTP_PRIVATE_KEY_FILE" (printf "%s/private-key" (include "upm.sftpKeyDir" $root)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq $name "alipay-sandbox" -}}
{{- $_ := set $data "SANDBOX_REPORT_DIR" (include "upm.sandboxReportDir" $root) -}}
{{- /* Alipay's fee in the report files; unset or empty: the sandbox's default (10 minor units per transaction) */ -}}
{{- $sb := $v.config.sandbox | default dict -}}
{{- include "upm.feeMinorNamesEachCurrencyOnce" (list $sb.feeMinor "config.sandbox.feeMinor" "the sandbox" "SANDBOX_FEE_MINOR") -}}
{{- with $sb.feeMinor }}{{ $_ := set $data "SANDBOX_FEE_MINOR" (toString .) }}{{ end -}}
{{- if not (kindIs "invalid" $sb.feeRateBps) }}{{ $_ := set $data "SANDBOX_FEE_RATE_BPS" (int64 $sb.feeRateBps | toString) }}{{ end -}}
{{- if include "upm.sandboxKeys" $root -}}
{{- $_ := set $data "SANDBOX_CLIENTS" (printf "%s=%s/merchant-public.pem" (include "upm.sandboxClientId" $root) (include "upm.sandboxClientKeyDir" $root)) -}}
{{- end -}}
{{- end -}}
{{- range $key, $value := $v.config.extraEnv -}}
{{- $_ := set $data $key (toString $value) -}}
{{- end -}}
{{- range $key, $value := $svc.env -}}
{{- $_ := set $data $key (toString $value) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* Pod and container hardening shared by services and jobs: the image runs as uid 1000 ("node"). */}}
{{- define "upm.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "upm.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}
