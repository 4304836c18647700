#!/usr/bin/env node
// Usage: node validate-app-config.js helm <rendered.yaml> [--secret <Secret.json>]
//        node validate-app-config.js compose
//
// Starts nothing, but does what each service does first: reads its environment through its own compiled config
// definition (dist/apps/<app>/src/config.js, `loadConfig` of libs/shared/config), so a setting that a service
// requires and the deployment does not give fails here instead of as a pod in CrashLoopBackOff (exit 78).
// A service's environment is the image's (docker/Dockerfile ENV) plus what the deployment gives it:
// - helm: the Deployment's ConfigMap, its Secret references (an optional key that is not in the rendered Secret
//   stays unset, as in Kubernetes) and its Secret / ConfigMap volumes, written to a scratch directory; `$(VAR)` in
//   an env value is replaced by a variable defined before it, as the kubelet does; --secret adds a Secret of the
//   cluster's (secrets.existingSecret) to the rendered ones;
// - compose: the service's environment with `${VAR:-default}` as an empty shell gives it, its volumes as scratch
//   directories, and the one-shot `node -e` services it waits for run first, on those directories.
// Then, when the connector talks to the in-deployment sandbox, the keys must fit: the sandbox keeps a fixed key
// (not a new one at each start), knows the connector's client id with the merchant's public key, and each side
// verifies what the other signs.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');
const SANDBOX = 'alipay-sandbox';
const CONNECTOR = 'alipay-connector';

const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'upm-app-config-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));

const { loadConfig, ConfigError } = require(path.join(DIST, 'libs/shared/config/src'));
const { loadPrivateKey, loadPublicKey } = require(path.join(DIST, 'libs/alipay/src'));
const { readKeySource } = require(path.join(DIST, 'libs/sandbox/src'));

const isApp = (app) => typeof app === 'string' && fs.existsSync(path.join(DIST, 'apps', app, 'src', 'config.js'));

/** The ENV instructions of the Dockerfile's last stage, which every container starts with. */
function imageEnv(app) {
  const text = fs.readFileSync(path.join(ROOT, 'docker', 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const stages = text.split(/^FROM\s/m);
  const env = {};
  for (const line of stages.at(-1).split('\n')) {
    const match = /^ENV\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    for (const pair of match[1].match(/\S+=("[^"]*"|\S*)/g) ?? []) {
      const at = pair.indexOf('=');
      env[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"|"$/g, '');
    }
  }
  env.APP = app;
  return env;
}

/** Replaces container paths with the scratch directories standing in for their volumes. */
function rewritePaths(value, mounts) {
  if (!mounts.size) return String(value);
  // one pass, longest mount path first, so that a replaced path is not rewritten again by a shorter mount (/tmp)
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const paths = [...mounts.keys()].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(^|[=,:\\s])(${paths.map(escape).join('|')})(?=/|$|[,\\s])`, 'g');
  return String(value).replace(pattern, (_, before, mountPath) => `${before}${mounts.get(mountPath)}`);
}

function loadApp(where, app, env) {
  const { configDefinition } = require(path.join(DIST, 'apps', app, 'src', 'config.js'));
  try {
    return loadConfig(configDefinition, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) fail(where, `would exit 78 at start: ${problem}`);
    return undefined;
  }
}

/** When the connector's AMS is the sandbox of the same deployment, their keys must fit each other. */
function checkAmsKeys(where, configs, sandboxHost) {
  const connector = configs[CONNECTOR];
  const sandbox = configs[SANDBOX];
  if (!connector || !sandbox) return;
  if (new URL(connector.connector.baseUrl).hostname !== sandboxHost) return;
  const message = Buffer.from('POST /ams/api/v1/payments/pay\nclient.time.{}');
  const fits = (privateKey, publicKey) => crypto.verify('sha256', message, publicKey, crypto.sign('sha256', message, privateKey));
  const settings = sandbox.sandbox;
  let sandboxKey;
  if (!settings.privateKey) fail(`${where} ${SANDBOX}`, 'no SANDBOX_PRIVATE_KEY(_FILE): it makes a new key at every start, which the connector\'s ALIPAY_PUBLIC_KEY cannot match');
  else {
    try {
      sandboxKey = loadPrivateKey(readKeySource(settings.privateKey));
    } catch (error) {
      fail(`${where} ${SANDBOX}`, `SANDBOX_PRIVATE_KEY(_FILE): ${error.message}`);
    }
  }
  for (const credentials of connector.connector.credentials) {
    let merchantKey;
    try {
      merchantKey = loadPrivateKey(credentials.privateKey);
    } catch (error) {
      fail(`${where} ${CONNECTOR}`, `ALIPAY_PRIVATE_KEY(_FILE): ${error.message}`);
    }
    try {
      const alipayKey = loadPublicKey(credentials.alipayPublicKey);
      if (sandboxKey && !fits(sandboxKey, alipayKey)) fail(`${where} ${CONNECTOR}`, 'ALIPAY_PUBLIC_KEY(_FILE) is not the sandbox\'s public key: every answer and notification would fail verification');
    } catch (error) {
      fail(`${where} ${CONNECTOR}`, `ALIPAY_PUBLIC_KEY(_FILE): ${error.message}`);
    }
    const client = settings.clients.find((c) => c.clientId === credentials.clientId);
    if (!client) {
      fail(`${where} ${SANDBOX}`, `SANDBOX_CLIENTS does not name the connector's client id ${credentials.clientId}: every request would answer INVALID_CLIENT`);
      continue;
    }
    try {
      const merchantPublic = loadPublicKey(readKeySource(client.publicKey));
      if (merchantKey && !fits(merchantKey, merchantPublic)) fail(`${where} ${SANDBOX}`, `SANDBOX_CLIENTS key of ${client.clientId} is not the merchant's public key: every request would answer INVALID_SIGNATURE`);
    } catch (error) {
      fail(`${where} ${SANDBOX}`, `SANDBOX_CLIENTS key of ${client.clientId}: ${error.message}`);
    }
  }
}

function checkHelm(file, givenSecret) {
  const objects = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJSON()).filter(Boolean);
  if (givenSecret) objects.push(JSON.parse(fs.readFileSync(givenSecret, 'utf8')));
  const named = (kind) => new Map(objects.filter((o) => o.kind === kind).map((o) => [o.metadata.name, o]));
  const configMaps = new Map([...named('ConfigMap')].map(([name, o]) => [name, { ...(o.data ?? {}) }]));
  const secrets = new Map(
    [...named('Secret')].map(([name, o]) => [
      name,
      { ...Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])), ...(o.stringData ?? {}) },
    ]),
  );
  const source = (kind, name) => (kind === 'Secret' ? secrets : configMaps).get(name);
  const configs = {};
  let sandboxHost;
  for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
    const pod = deployment.spec.template.spec;
    for (const container of pod.containers) {
      const app = /dist\/apps\/([^/]+)\/src\/main\.js/.exec((container.command ?? []).join(' '))?.[1];
      const where = `${path.basename(file)} Deployment/${deployment.metadata.name}`;
      if (!isApp(app)) {
        fail(where, `command ${JSON.stringify(container.command)} runs no app of dist/apps`);
        continue;
      }
      if (app === SANDBOX) sandboxHost = objects.find((o) => o.kind === 'Service' && o.spec?.selector?.['app.kubernetes.io/name'] === SANDBOX)?.metadata.name;
      const mounts = new Map();
      for (const mount of container.volumeMounts ?? []) {
        const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
        const dir = path.join(scratch, deployment.metadata.name, mount.name);
        fs.mkdirSync(dir, { recursive: true });
        mounts.set(mount.mountPath, dir);
        const ref = volume?.secret ? ['Secret', volume.secret.secretName, volume.secret] : volume?.configMap ? ['ConfigMap', volume.configMap.name, volume.configMap] : undefined;
        if (!ref) continue;
        const data = source(ref[0], ref[1]);
        if (!data) {
          if (!ref[2].optional) fail(where, `volume ${mount.name}: ${ref[0]} ${ref[1]} is not rendered (secrets.existingSecret is not checked here)`);
          continue;
        }
        for (const item of ref[2].items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
          if (item.key in data) fs.writeFileSync(path.join(dir, item.path), data[item.key]);
          else if (!ref[2].optional) fail(where, `volume ${mount.name}: ${ref[0]} ${ref[1]} has no key ${item.key}: the pod would not start`);
        }
      }
      const env = imageEnv(app);
      for (const from of container.envFrom ?? []) {
        const [kind, ref] = from.configMapRef ? ['ConfigMap', from.configMapRef] : ['Secret', from.secretRef];
        const data = source(kind, ref.name);
        if (data) Object.assign(env, data);
        else if (!ref.optional) fail(where, `envFrom: ${kind} ${ref.name} is not rendered`);
      }
      for (const entry of container.env ?? []) {
        if ('value' in entry) {
          // $(VAR) names a variable defined before it; $$(VAR) is a literal $(VAR); an unknown one stays as written
          env[entry.name] = String(entry.value).replace(/\$(\$)?\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, escaped, name) => (escaped ? match.slice(1) : name in env ? env[name] : match));
          continue;
        }
        const keyRef = entry.valueFrom?.secretKeyRef ?? entry.valueFrom?.configMapKeyRef;
        if (!keyRef) continue;
        const kind = entry.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
        const data = source(kind, keyRef.name);
        if (data && keyRef.key in data) env[entry.name] = data[keyRef.key];
        else if (!keyRef.optional) fail(where, `env ${entry.name}: ${kind} ${keyRef.name} ${data ? `has no key ${keyRef.key}` : 'is not rendered'}: the pod would not start`);
        // an optional key that is absent leaves the variable unset, as the kubelet does
      }
      for (const key of Object.keys(env)) env[key] = rewritePaths(env[key], mounts);
      const config = loadApp(`${where} (${app})`, app, env);
      if (config) configs[app] = config;
    }
  }
  checkAmsKeys(path.basename(file), configs, sandboxHost);
  return Object.keys(configs);
}

/** Compose's interpolation as an empty shell (and no .env file) gives it. */
function interpolate(text) {
  return text.replace(/\$\$|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}|\$(\w+)/g, (match, name, colon, op, word) => {
    if (match === '$$') return '$';
    if (op === '-') return word;
    if (op === '?') throw new Error(`compose.yaml requires ${name} to be set (${match})`);
    return '';
  });
}

function checkCompose() {
  const file = path.join(ROOT, 'docker', 'compose.yaml');
  const doc = YAML.parseDocument(interpolate(fs.readFileSync(file, 'utf8')), { merge: true });
  for (const error of doc.errors) fail('compose.yaml', `YAML: ${error.message}`);
  const services = doc.toJSON()?.services ?? {};
  const envOf = (svc) =>
    Object.fromEntries(
      (Array.isArray(svc.environment) ? svc.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]) : Object.entries(svc.environment ?? {}))
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
  // one scratch directory per named volume, shared by every service that mounts it
  const mountsOf = (svc) =>
    new Map(
      (svc.volumes ?? []).map((volume) => {
        const [source, target] = String(volume).split(':');
        const dir = source.startsWith('.') || source.startsWith('/') ? path.resolve(path.dirname(file), source) : path.join(scratch, 'volumes', source);
        fs.mkdirSync(source.startsWith('.') || source.startsWith('/') ? path.dirname(dir) : dir, { recursive: true });
        return [target, dir];
      }),
    );
  const ran = new Map();
  const runOneShot = (name) => {
    if (ran.has(name)) return ran.get(name);
    const svc = services[name];
    const command = [].concat(svc.command ?? []);
    let ok = true;
    if (command[0] === 'node' && command[1] === '-e') {
      const mounts = mountsOf(svc);
      const env = { PATH: process.env.PATH, ...imageEnv(svc.build?.args?.APP), ...envOf(svc) };
      for (const key of Object.keys(env)) env[key] = rewritePaths(env[key], mounts);
      try {
        execFileSync(process.execPath, ['-e', command[2], ...command.slice(3).map((arg) => rewritePaths(arg, mounts))], { env, cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (error) {
        ok = false;
        fail(`compose.yaml ${name}`, `one-shot command failed: ${String(error.stderr || error.message).trim()}`);
      }
    }
    // other one-shot services (migrations, topics) need PostgreSQL and Kafka; what they make is not read from files
    ran.set(name, ok);
    return ok;
  };
  const configs = {};
  for (const [name, svc] of Object.entries(services)) {
    const app = svc.build?.args?.APP;
    if (!isApp(app) || svc.command) continue;
    const where = `compose.yaml ${name}`;
    const dependsOn = Array.isArray(svc.depends_on) ? {} : svc.depends_on ?? {};
    for (const [dep, condition] of Object.entries(dependsOn)) {
      if (condition?.condition === 'service_completed_successfully' && services[dep]) runOneShot(dep);
    }
    const mounts = mountsOf(svc);
    const env = imageEnv(app);
    for (const [key, value] of Object.entries(envOf(svc))) env[key] = rewritePaths(value, mounts);
    const config = loadApp(`${where} (${app})`, app, env);
    if (config) configs[app] = config;
  }
  checkAmsKeys('compose.yaml', configs, Object.keys(services).find((name) => services[name].build?.args?.APP === SANDBOX && !services[name].command));
  return Object.keys(configs);
}

const [target, file] = process.argv.slice(2);
let checked;
const secretAt = process.argv.indexOf('--secret');
if (target === 'helm' && file) checked = checkHelm(file, secretAt > 0 ? process.argv[secretAt + 1] : undefined);
else if (target === 'compose') checked = checkCompose();
else {
  console.error('usage: validate-app-config.js helm <rendered.yaml> | compose');
  process.exit(2);
}
if (problems.length) {
  for (const p of problems) console.error(`  ${p}`);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`${target}: ${checked.length} services start with their configuration (${checked.join(', ')}); AMS keys fit`);
