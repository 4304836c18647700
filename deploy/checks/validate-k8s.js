#!/usr/bin/env node
// Usage: node validate-k8s.js --profile default|dev|production --values <values file> <rendered.yaml>
//
// Validates every object `helm template` rendered:
// 1. schema: each object against the Kubernetes 1.27 OpenAPI schemas of kubernetes-models@4.5.1; an
//    apiVersion/kind it does not know fails, except the Prometheus Operator's ServiceMonitor, checked here;
// 2. unknown fields: the models' validators ignore them, so every object is validated through a Proxy that
//    records which fields the validator looked at; a field it never read is not in the schema (a typo such as
//    `readinesProbe` would otherwise pass silently and the probe would be missing);
// 3. project rules: probes, resources, non-root, ports of CONTRACTS §4, selectors, references, profiles.
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '../..');
const HOOK_ANNOTATION = 'checks.upm.local/helm-hook'; // see prepare-charts.js

const CONTRACT_PORTS = require('./contract-ports');
const ADMIN_APPS = require('./admin-apps')(ROOT);
const APP_ENV = require('./app-env')(ROOT);
const OWN_ENV = require('./app-env').own(ROOT);
const SANDBOX = 'alipay-sandbox';
const STANDARD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
  'helm.sh/chart',
];

const problems = new Set();
const fail = (where, message) => problems.add(`${where}: ${message}`);

function parseArgs(argv) {
  const args = { profile: undefined, values: undefined, file: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--profile') args.profile = argv[++i];
    else if (argv[i] === '--values') args.values = argv[++i];
    else args.file = argv[i];
  }
  if (!['default', 'dev', 'production'].includes(args.profile) || !args.values || !args.file) {
    console.error('usage: validate-k8s.js --profile default|dev|production --values <values file> <rendered.yaml>');
    process.exit(2);
  }
  return args;
}

function loadObjects(file) {
  const objects = [];
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    // duplicate keys and bad indentation are errors here; Kubernetes would keep one of the values silently
    for (const error of doc.errors) fail(file, `YAML: ${error.message}`);
    const object = doc.toJSON();
    if (object) objects.push(object);
  }
  return objects;
}

const id = (o) => `${o?.kind ?? '?'}/${o?.metadata?.name ?? '?'}`;

// ---------------------------------------------------------------------------------------------------------
// 1 and 2: schema and unknown fields

/** Wraps a value in Proxies that record, per object, which keys were read or whether it was enumerated. */
function track(value, at, log) {
  if (Array.isArray(value)) return value.map((item, i) => track(item, `${at}[${i}]`, log));
  if (value === null || typeof value !== 'object') return value;
  const entry = { at, keys: Object.keys(value), read: new Set(), enumerated: false };
  log.push(entry);
  const target = {};
  for (const [key, child] of Object.entries(value)) target[key] = track(child, `${at}.${key}`, log);
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === 'string') entry.read.add(key);
      return Reflect.get(t, key, receiver);
    },
    has(t, key) {
      if (typeof key === 'string') entry.read.add(key);
      return Reflect.has(t, key);
    },
    // a map-typed field (labels, data, …) is enumerated by the validator: any key is allowed there
    ownKeys(t) {
      entry.enumerated = true;
      return Reflect.ownKeys(t);
    },
  });
}

function validateSchema(object) {
  const where = id(object);
  if (object.apiVersion === 'monitoring.coreos.com/v1' && object.kind === 'ServiceMonitor') {
    validateServiceMonitor(object);
    return;
  }
  let models;
  try {
    models = require(`kubernetes-models/${object.apiVersion}`);
  } catch {
    fail(where, `unknown apiVersion ${object.apiVersion} (not in Kubernetes 1.27)`);
    return;
  }
  const Model = models[object.kind];
  if (typeof Model !== 'function' || Model.kind !== object.kind) {
    fail(where, `unknown kind ${object.kind} in ${object.apiVersion}`);
    return;
  }
  const log = [];
  try {
    Model.prototype.validate.call(track(object, '', log));
  } catch (error) {
    fail(where, `schema: ${error.message}`);
    return;
  }
  const unknown = [];
  for (const entry of log) {
    if (entry.enumerated) continue;
    for (const key of entry.keys) if (!entry.read.has(key)) unknown.push(`${entry.at}.${key}`);
  }
  // report the outermost unknown field only, not everything below it
  for (const field of unknown) {
    if (!unknown.some((other) => other !== field && field.startsWith(`${other}.`))) fail(where, `unknown field ${field.slice(1)}`);
  }
}

/** No published models for the CRD; checks the fields the Prometheus Operator needs, and typos in them. */
function validateServiceMonitor(o) {
  const where = id(o);
  const allowed = (obj, keys, at) => {
    for (const key of Object.keys(obj ?? {})) if (!keys.includes(key)) fail(where, `unknown field ${at}.${key}`);
  };
  allowed(o, ['apiVersion', 'kind', 'metadata', 'spec'], '');
  if (!o.metadata?.name) fail(where, 'metadata.name missing');
  const spec = o.spec ?? {};
  allowed(spec, ['selector', 'namespaceSelector', 'endpoints', 'jobLabel', 'targetLabels', 'podTargetLabels', 'sampleLimit'], 'spec');
  const labels = spec.selector?.matchLabels;
  if (!labels || typeof labels !== 'object' || !Object.keys(labels).length) fail(where, 'spec.selector.matchLabels must select the services');
  if (!Array.isArray(spec.endpoints) || !spec.endpoints.length) fail(where, 'spec.endpoints must list at least one endpoint');
  for (const [i, endpoint] of (spec.endpoints ?? []).entries()) {
    const at = `spec.endpoints[${i}]`;
    allowed(endpoint, ['port', 'targetPort', 'path', 'scheme', 'interval', 'scrapeTimeout', 'honorLabels', 'honorTimestamps', 'relabelings', 'metricRelabelings', 'params', 'tlsConfig'], at);
    if (typeof endpoint.port !== 'string') fail(where, `${at}.port must name a Service port`);
    if (endpoint.path !== undefined && !String(endpoint.path).startsWith('/')) fail(where, `${at}.path must be absolute`);
    for (const key of ['interval', 'scrapeTimeout']) {
      if (endpoint[key] !== undefined && !/^(\d+(ms|s|m|h))+$/.test(endpoint[key])) fail(where, `${at}.${key} "${endpoint[key]}" is not a Prometheus duration`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3: project rules

const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const appOf = (o) => o.metadata?.labels?.['app.kubernetes.io/name'];

function contractPortsFromCode() {
  // the default port each app's config.ts declares must agree with CONTRACTS §4 too
  for (const [app, port] of Object.entries(CONTRACT_PORTS)) {
    const file = path.join(ROOT, 'apps', app, 'src', 'config.ts');
    if (!fs.existsSync(file)) {
      fail(`apps/${app}`, 'app listed in CONTRACTS §4 has no apps/<app>/src/config.ts');
      continue;
    }
    const found = /PORT:\s*env\.port\((\d+)\)/.exec(fs.readFileSync(file, 'utf8'));
    if (!found || Number(found[1]) !== port) fail(`apps/${app}/src/config.ts`, `default PORT ${found?.[1]} differs from CONTRACTS §4 (${port})`);
  }
  for (const app of fs.readdirSync(path.join(ROOT, 'apps'))) {
    if (!(app in CONTRACT_PORTS)) fail(`apps/${app}`, 'app is not in CONTRACTS §4; add its port there, to the chart and to this check');
  }
}

function checkPodSpec(where, podSpec, { kind }) {
  const pod = podSpec ?? {};
  if (pod.securityContext?.runAsNonRoot !== true) fail(where, 'pod securityContext.runAsNonRoot must be true');
  if (pod.automountServiceAccountToken !== false) fail(where, 'automountServiceAccountToken must be false (nothing calls the Kubernetes API)');
  const mounts = new Set();
  for (const c of pod.containers ?? []) {
    const at = `${where} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) fail(at, 'securityContext.readOnlyRootFilesystem must be true');
    if (sc.allowPrivilegeEscalation !== false) fail(at, 'securityContext.allowPrivilegeEscalation must be false');
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) fail(at, 'securityContext.capabilities.drop must include ALL');
    if (sc.runAsUser === 0 || pod.securityContext?.runAsUser === 0) fail(at, 'runs as root (uid 0)');
    if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) fail(at, 'resources.requests.cpu and .memory are required');
    if (!c.resources?.limits?.memory) fail(at, 'resources.limits.memory is required');
    if (/:latest$/.test(c.image ?? '') || !/[:@]/.test(c.image ?? '')) fail(at, `image "${c.image}" must carry a tag or digest other than latest`);
    for (const m of c.volumeMounts ?? []) mounts.add(m.name);
    if (kind === 'Deployment') {
      const ports = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
      for (const [probe, expected] of [['livenessProbe', '/health/live'], ['readinessProbe', '/health/ready']]) {
        const get = c[probe]?.httpGet;
        if (!get) fail(at, `${probe} with httpGet is required`);
        else {
          if (get.path !== expected) fail(at, `${probe} must GET ${expected}, not ${get.path}`);
          if (typeof get.port === 'string' ? !ports.has(get.port) : ![...ports.values()].includes(get.port)) fail(at, `${probe} port ${get.port} is not a container port`);
        }
      }
    }
  }
  const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
  for (const m of mounts) if (!volumes.has(m)) fail(where, `volumeMount ${m} has no volume`);
  const anti = pod.affinity?.podAntiAffinity;
  if (anti?.requiredDuringSchedulingIgnoredDuringExecution) fail(where, 'pod anti-affinity must be preferred, never required (small clusters could not schedule)');
}

function envOf(container, configMaps) {
  const env = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, configMaps.get(from.configMapRef.name)?.data ?? {});
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? (e.valueFrom ? '<from ref>' : '');
  return env;
}

/**
 * What the chart's ConfigMap hands a service must be something it reads (OpenTelemetry's own variables and the
 * profile's extraEnv / services.<app>.env aside, which are the operator's to choose), and a number as the
 * service parses it: Helm holds YAML numbers as floats, and `toString` prints 3600000 as "3.6e+06".
 */
function checkConfigMapEnv(where, app, container, configMaps, profileValues, chartDefaults) {
  const reads = APP_ENV[app];
  const chosen = new Set([...Object.keys(profileValues?.config?.extraEnv ?? {}), ...Object.keys(profileValues?.services?.[app]?.env ?? {})]);
  for (const from of container.envFrom ?? []) {
    for (const [name, value] of Object.entries(configMaps.get(from.configMapRef?.name)?.data ?? {})) {
      if (reads && !reads.has(name) && !name.startsWith('OTEL_') && !chosen.has(name)) fail(where, `${name} is set, but ${app} does not read it (apps/${app}/src/config.ts)`);
      if (/^-?\d+(\.\d+)?e[+-]?\d+$/i.test(String(value))) fail(where, `${name}=${value}: a number rendered in exponent notation, which the service refuses (render it with int64)`);
      if (chartDefaults && !CLUSTER_ENV.has(name)) checkCodeDefault(where, app, name, value);
    }
  }
}

/**
 * What the chart sets because the service runs in a cluster, not as a tuning choice: where it listens, how long
 * it drains (from the grace period), where Kafka, Alipay and the sandbox's files are.
 */
const CLUSTER_ENV = new Set(['PORT', 'HOST', 'SHUTDOWN_GRACE_MS', 'KAFKA_BROKERS', 'ALIPAY_BASE_URL', 'SANDBOX_REPORT_DIR', 'SANDBOX_CLIENTS', 'SANDBOX_PRIVATE_KEY_FILE']);

/**
 * The chart's defaults (values.yaml) are the services' own: a setting the chart hands a service with a value other
 * than its config.ts default silently changes it for every installation (a pool sized by a benchmark, a limit
 * documented with its default). Both sides go through the service's compiled schema (dist/apps/<app>/src/config.js),
 * so "10000" and 10_000, "true" and true compare equal.
 */
function checkCodeDefault(where, app, name, value) {
  const file = path.join(ROOT, 'dist', 'apps', app, 'src', 'config.js');
  if (!fs.existsSync(file)) return fail(where, `dist/apps/${app}/src/config.js is missing: build first (node tools/build.js)`);
  const schema = require(file).configDefinition.shape[name];
  if (!schema) return;
  const given = schema.safeParse(String(value));
  const fallback = schema.safeParse(undefined);
  if (!given.success || !fallback.success) return; // a value the service refuses fails the config check; a variable without default has none to match
  if (JSON.stringify(given.data) !== JSON.stringify(fallback.data)) {
    fail(where, `${name}=${value} in the chart's defaults, but ${app} defaults to ${JSON.stringify(fallback.data)} (apps/${app}/src/config.ts): make values.yaml say what the code does, or leave the setting to the service`);
  }
}

/**
 * How long a consumer may wait to join its group: kafkajs's `consumer.run()` resolves only once the member has
 * joined and synced, which during a rebalance takes up to the group's rebalance timeout (the broker waits that long
 * for every known member to rejoin). Nest serves HTTP only after every consumer started, so until then
 * /health/live does not answer and the startup probe counts failures.
 */
function rebalanceTimeoutMs() {
  const ours = /rebalanceTimeout:\s*([\d_]+)/.exec(fs.readFileSync(path.join(ROOT, 'libs/shared/kafka/src/consumer.ts'), 'utf8'));
  if (ours) return Number(ours[1].replace(/_/g, ''));
  const kafkajs = /rebalanceTimeout\s*=\s*(\d+)/.exec(fs.readFileSync(require.resolve('kafkajs/src/consumer/index.js', { paths: [ROOT] }), 'utf8'));
  return Number(kafkajs?.[1] ?? 60000);
}
/** what a service needs besides the join to come up: loading, connecting the pools, the producer and the relay */
const BOOT_MARGIN_SECONDS = 30;

/** Variables whose value is each service's own (its port, its name, its grace period, its database). */
const PER_SERVICE_ENV = new Set(['PORT', 'OTEL_SERVICE_NAME', 'SHUTDOWN_GRACE_MS', 'DATABASE_URL']);

/**
 * A setting the chart hands one service and another service also reads must reach that one too, with the same
 * value: two services that read one variable (ALIPAY_HTTP_TIMEOUT_MS: the connector's AMS timeout, from which the
 * orchestrator times its saga) would otherwise disagree, one on the chart's value, the other on its own default.
 */
function checkSharedEnv(deployments, configMaps, profileValues) {
  const envs = deployments.map((d) => {
    const container = d.spec?.template?.spec?.containers?.[0] ?? {};
    return { where: id(d), app: appOf(d), env: envOf(container, configMaps) };
  });
  for (const { app: setter, env: given } of envs) {
    for (const [name, value] of Object.entries(given)) {
      if (PER_SERVICE_ENV.has(name) || name.startsWith('OTEL_') || value === '<from ref>') continue;
      for (const { where, app, env } of envs) {
        // the shared groups (Kafka, database…) come with a service's traits; its own schema names what else it reads
        if (app === setter || !OWN_ENV[app]?.has(name)) continue;
        const chosen = [...Object.keys(profileValues?.config?.extraEnv ?? {}), ...Object.keys(profileValues?.services?.[app]?.env ?? {})];
        if (chosen.includes(name)) continue;
        if (!(name in env)) fail(where, `${name} is set for ${setter} (${value}) but not here, although ${app} reads it too (apps/${app}/src/config.ts): it runs on its own default`);
        else if (env[name] !== '<from ref>' && env[name] !== value) fail(where, `${name}=${env[name]} differs from ${setter}'s ${value}`);
      }
    }
  }
}

function checkProject(objects, profile, profileValues, chartDefaults) {
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const deployments = byKind('Deployment');
  const services = byKind('Service');
  const hpas = byKind('HorizontalPodAutoscaler');
  const pdbs = byKind('PodDisruptionBudget');
  const jobs = byKind('Job');
  const configMaps = new Map(byKind('ConfigMap').map((o) => [o.metadata.name, o]));
  const secrets = new Set(byKind('Secret').map((o) => o.metadata.name));
  const serviceAccounts = new Set(byKind('ServiceAccount').map((o) => o.metadata.name));
  const externalSecret = profileValues?.secrets?.existingSecret;

  const names = new Set();
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata?.name}`;
    if (names.has(key)) fail(key, 'rendered twice');
    names.add(key);
    for (const label of STANDARD_LABELS) if (!o.metadata?.labels?.[label]) fail(key, `label ${label} missing`);
  }

  const expectedApps = Object.keys(CONTRACT_PORTS).filter((app) => profile !== 'production' || app !== SANDBOX);
  const deployedApps = deployments.map(appOf);
  for (const app of expectedApps) if (!deployedApps.includes(app)) fail(`profile ${profile}`, `no Deployment for ${app}`);

  for (const d of deployments) {
    const where = id(d);
    const app = appOf(d);
    const pod = d.spec?.template;
    if (!(app in CONTRACT_PORTS)) fail(where, `app.kubernetes.io/name "${app}" is not a service of CONTRACTS §4`);
    if (!matches(d.spec?.selector?.matchLabels, pod?.metadata?.labels)) fail(where, 'selector does not match the pod template labels');
    if (!pod?.metadata?.annotations?.['checksum/config']) fail(where, 'pod template needs a checksum/config annotation so config changes roll the pods');
    checkPodSpec(where, pod?.spec, { kind: 'Deployment' });
    const podSpec = pod?.spec ?? {};
    if (!serviceAccounts.has(podSpec.serviceAccountName)) fail(where, `ServiceAccount ${podSpec.serviceAccountName} is not rendered`);

    const container = podSpec.containers?.[0] ?? {};
    const port = (container.ports ?? []).find((p) => p.name === 'http');
    if (port?.containerPort !== CONTRACT_PORTS[app]) fail(where, `container port ${port?.containerPort} differs from CONTRACTS §4 (${CONTRACT_PORTS[app]})`);
    for (const from of container.envFrom ?? []) {
      if (from.configMapRef && !configMaps.has(from.configMapRef.name)) fail(where, `ConfigMap ${from.configMapRef.name} is not rendered`);
    }
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !secrets.has(ref.name) && ref.name !== externalSecret) fail(where, `env ${e.name} refers to Secret ${ref.name}, neither rendered nor secrets.existingSecret`);
    }
    const env = envOf(container, configMaps);
    checkConfigMapEnv(where, app, container, configMaps, profileValues, chartDefaults);
    if (Number(env.PORT) !== CONTRACT_PORTS[app]) fail(where, `PORT=${env.PORT} differs from CONTRACTS §4 (${CONTRACT_PORTS[app]})`);
    if (env.HOST !== '0.0.0.0') fail(where, `HOST=${env.HOST}: the services bind 127.0.0.1 by default, unreachable from the kubelet and Services`);
    if (app !== SANDBOX && !env.KAFKA_BROKERS) fail(where, 'KAFKA_BROKERS missing');
    if (app !== SANDBOX && !env.DATABASE_URL) fail(where, 'DATABASE_URL missing');
    if (app === 'terminal-gateway' && !env.REDIS_URL) fail(where, 'REDIS_URL missing');
    if (ADMIN_APPS.includes(app)) {
      const token = (container.env ?? []).find((e) => e.name === 'ADMIN_TOKEN')?.valueFrom?.secretKeyRef;
      if (!token) fail(where, 'ADMIN_TOKEN must come from the Secret: the image runs with NODE_ENV=production, where an admin API needs its token');
      else if (profile === 'production' && token.optional) fail(where, 'production profile: ADMIN_TOKEN must not be optional');
    }
    for (const [key, file] of Object.entries(env).filter(([key]) => key.endsWith('_FILE'))) {
      const mounted = (container.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath}/`));
      if (!mounted) fail(where, `${key}=${file} is not inside any volumeMount`);
      else if (!(podSpec.volumes ?? []).some((v) => v.name === mounted.name && (v.secret || v.configMap || v.projected))) fail(where, `${key} is mounted from ${mounted.name}, which is not a Secret or ConfigMap`);
    }
    if (profile === 'production' && env.SETTLEMENT_SFTP_HOST && !env.SETTLEMENT_SFTP_HOST_KEY_SHA256) fail(where, 'production profile: an SFTP report source needs config.settlement.sftp.hostKeySha256 (any host key would be accepted)');
    if (app === 'notification' && profile === 'production') {
      const keys = (container.env ?? []).find((e) => e.name === 'WEBHOOK_SECRET_KEYS')?.valueFrom?.secretKeyRef;
      if (!keys || keys.optional) fail(where, 'production profile: WEBHOOK_SECRET_KEYS must come from the Secret, not optional (webhook secrets would be stored readable)');
    }
    const startup = container.startupProbe;
    if (env.KAFKA_BROKERS && startup) {
      const window = (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3) + (startup.initialDelaySeconds ?? 0);
      const needed = rebalanceTimeoutMs() / 1000 + BOOT_MARGIN_SECONDS;
      if (window < needed) fail(where, `startupProbe gives ${window}s, but a consumer joining during a Kafka rebalance may wait ${rebalanceTimeoutMs() / 1000}s before the service listens: the pod would be killed and rebalance the group again (needs at least ${needed}s)`);
    }
    const grace = Number(env.SHUTDOWN_GRACE_MS) / 1000;
    const preStop = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    if (!(grace > 0) || grace + preStop >= (podSpec.terminationGracePeriodSeconds ?? 30)) {
      fail(where, `SHUTDOWN_GRACE_MS (${env.SHUTDOWN_GRACE_MS}) plus preStop (${preStop}s) must end before terminationGracePeriodSeconds`);
    }

    const service = services.find((s) => s.metadata.name === d.metadata.name);
    if (!service) fail(where, 'no Service of the same name');
    else {
      const sp = service.spec?.ports?.[0];
      if (!matches(service.spec?.selector, pod?.metadata?.labels)) fail(id(service), 'selector does not match its Deployment');
      if (sp?.port !== CONTRACT_PORTS[app]) fail(id(service), `port ${sp?.port} differs from CONTRACTS §4 (${CONTRACT_PORTS[app]})`);
      if (sp?.targetPort !== 'http' && sp?.targetPort !== CONTRACT_PORTS[app]) fail(id(service), `targetPort ${sp?.targetPort} is not the container port`);
    }

    const hpa = hpas.find((h) => h.spec?.scaleTargetRef?.name === d.metadata.name);
    if (hpa && d.spec.replicas !== undefined) fail(where, 'sets replicas although an HPA scales it (every upgrade would reset the count)');
    const minReplicas = hpa ? hpa.spec.minReplicas ?? 1 : d.spec.replicas ?? 1;
    const pdb = pdbs.find((p) => matches(p.spec?.selector?.matchLabels, pod?.metadata?.labels));
    if (pdb && pdb.spec.minAvailable >= minReplicas) fail(id(pdb), `minAvailable ${pdb.spec.minAvailable} with ${minReplicas} replica(s) blocks every node drain`);

    if (profile === 'dev') {
      if (hpa) fail(where, 'dev profile: no autoscaling');
      if (d.spec.replicas !== 1) fail(where, `dev profile: 1 replica, not ${d.spec.replicas}`);
      if (app === 'alipay-connector' && !/^http:\/\/[a-z0-9-]*alipay-sandbox:3010$/.test(env.ALIPAY_BASE_URL ?? '')) fail(where, `dev profile: ALIPAY_BASE_URL must be the sandbox, not ${env.ALIPAY_BASE_URL}`);
    } else if (profile === 'production') {
      if (app === SANDBOX) fail(where, 'production profile: the sandbox must be disabled');
      if (!hpa) fail(where, 'production profile: an HPA is required');
      if (minReplicas < 2) fail(where, `production profile: at least 2 replicas, not ${minReplicas}`);
      if (!pdb || pdb.spec.minAvailable !== 1) fail(where, 'production profile: a PodDisruptionBudget with minAvailable 1 is required');
      if (app === 'alipay-connector' && !/^https:\/\/open-[a-z-]+\.alipay\.com$/.test(env.ALIPAY_BASE_URL ?? '')) fail(where, `production profile: ALIPAY_BASE_URL must be a real AMS endpoint, not ${env.ALIPAY_BASE_URL}`);
    }
  }

  checkSharedEnv(deployments, configMaps, profileValues);

  for (const h of hpas) {
    if (!deployments.some((d) => d.metadata.name === h.spec?.scaleTargetRef?.name)) fail(id(h), 'scaleTargetRef is not a rendered Deployment');
    if (h.spec.minReplicas > h.spec.maxReplicas) fail(id(h), 'minReplicas > maxReplicas');
  }
  for (const p of pdbs) {
    if (!deployments.some((d) => matches(p.spec?.selector?.matchLabels, d.spec?.template?.metadata?.labels))) fail(id(p), 'selects no Deployment');
  }
  for (const sm of byKind('ServiceMonitor')) {
    const selected = services.filter((s) => matches(sm.spec?.selector?.matchLabels, s.metadata?.labels));
    if (selected.length !== deployments.length) fail(id(sm), `selects ${selected.length} Services, expected ${deployments.length}`);
    for (const s of selected) if (!(s.spec?.ports ?? []).some((p) => p.name === sm.spec?.endpoints?.[0]?.port)) fail(id(sm), `${id(s)} has no port ${sm.spec?.endpoints?.[0]?.port}`);
  }

  const hookOf = (o) => o.metadata?.annotations?.[HOOK_ANNOTATION];
  const weightOf = (o) => Number(o.metadata?.annotations?.['helm.sh/hook-weight'] ?? 0);
  const job = (component) => jobs.find((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === component);
  const migrations = job('migrations');
  const topics = job('topics');
  for (const [name, j, command] of [['migrations', migrations, 'dist/tools/db-migrate.js'], ['topics', topics, 'dist/tools/kafka-topics.js']]) {
    if (!j) {
      fail(`profile ${profile}`, `the ${name} Job is not rendered`);
      continue;
    }
    if (hookOf(j) !== 'pre-install,pre-upgrade') fail(id(j), `must be a pre-install,pre-upgrade hook, not ${hookOf(j)}`);
    if (!j.spec?.template?.spec?.containers?.[0]?.command?.includes(command)) fail(id(j), `must run ${command}`);
    if (j.spec?.template?.spec?.restartPolicy !== 'Never') fail(id(j), 'restartPolicy must be Never (the Job retries)');
    checkPodSpec(id(j), j.spec?.template?.spec, { kind: 'Job' });
    for (const e of j.spec?.template?.spec?.containers?.[0]?.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      // hooks run before the release's own objects exist: a Secret they read must be a hook created earlier
      const hookSecret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name && hookOf(o));
      if (ref.name === externalSecret) continue;
      if (!hookSecret) fail(id(j), `reads Secret ${ref.name}, which does not exist yet when pre-install hooks run`);
      else if (weightOf(hookSecret) >= weightOf(j)) fail(id(j), `its Secret ${ref.name} must have a lower hook weight`);
    }
  }
  if (migrations && topics && weightOf(migrations) >= weightOf(topics)) fail(id(topics), 'should run after the migrations (higher hook weight)');
  if (migrations) {
    const keys = (migrations.spec.template.spec.containers[0].env ?? []).map((e) => e.name);
    for (const key of ['GATEWAY', 'ORCHESTRATOR', 'CONNECTOR', 'SETTLEMENT', 'NOTIFICATION']) {
      if (!keys.includes(`${key}_DATABASE_URL`)) fail(id(migrations), `${key}_DATABASE_URL missing (tools/services.ts reads it)`);
    }
  }
}

/**
 * The defaults docs/deployment.md's settings table states are values.yaml's: each row naming values keys
 * (`config.…`, `alipay.…`, `saga.…`) with as many backticked defaults, pairwise (`""` is the empty string).
 */
function checkDocumentedDefaults(values) {
  const doc = 'docs/deployment.md';
  const ticks = (cell) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
  for (const line of fs.readFileSync(path.join(ROOT, doc), 'utf8').split('\n')) {
    const cells = line.split(' | ');
    if (cells.length < 3 || !line.startsWith('| `')) continue;
    const keys = ticks(cells[0]);
    const defaults = ticks(cells[1]);
    if (!keys.length || keys.length !== defaults.length || !keys.every((k) => /^(config|alipay|saga)\.[A-Za-z.]+$/.test(k))) continue;
    keys.forEach((key, i) => {
      const actual = key.split('.').reduce((o, k) => o?.[k], values);
      const stated = defaults[i].replace(/^"(.*)"$/, '$1');
      if (actual === undefined) fail(doc, `${key} is not a key of values.yaml`);
      else if (String(actual) !== stated) fail(doc, `${key} defaults to ${JSON.stringify(actual)} in values.yaml, the settings table says ${defaults[i]}`);
    });
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const objects = loadObjects(args.file);
  const profileValues = YAML.parse(fs.readFileSync(args.values, 'utf8'));
  if (!objects.length) fail(args.file, 'nothing rendered');
  for (const object of objects) {
    if (!object.apiVersion || !object.kind) fail(id(object), 'apiVersion and kind are required');
    else validateSchema(object);
  }
  contractPortsFromCode();
  // the chart's own values.yaml, not a profile or an example layered on it
  const chartDefaults = path.resolve(args.values) === path.join(ROOT, 'helm', 'upm-platform', 'values.yaml');
  checkProject(objects, args.profile, profileValues, chartDefaults);
  if (chartDefaults) checkDocumentedDefaults(profileValues);

  const kinds = {};
  for (const o of objects) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
  const summary = Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ');
  if (problems.size) {
    for (const p of problems) console.error(`  ${p}`);
    console.error(`${problems.size} problem(s) in ${objects.length} objects (${summary})`);
    process.exit(1);
  }
  console.log(`${objects.length} objects valid (${summary})`);
}

main();
