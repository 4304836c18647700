#!/usr/bin/env node
// Usage: node validate-docker.js dockerfile|compose
//
// No Dockerfile linter (hadolint) can be installed here and there is no Docker engine, so this is a
// structural check of docker/Dockerfile, .dockerignore and docker/compose.yaml against what the repository
// needs: a multi-stage build, a small non-root runtime with production dependencies only, pinned base images,
// a health check that works with the compiled apps, a build context that holds every source the build reads,
// and a compose file that wires the six services to the ports of CONTRACTS §4.
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '../..');
const DOCKERFILE = path.join(ROOT, 'docker/Dockerfile');
const DOCKERIGNORE = path.join(ROOT, '.dockerignore');
const COMPOSE = path.join(ROOT, 'docker/compose.yaml');

const CONTRACT_PORTS = require('./contract-ports');
const ADMIN_APPS = require('./admin-apps')(ROOT);
const OWN_ENV = require('./app-env').own(ROOT);

const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);

// ---------------------------------------------------------------------------------------------------------
// Dockerfile

/** Instructions with continuation lines joined and comments dropped, each with its line number. */
function parseDockerfile(text) {
  const instructions = [];
  let buffer = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!buffer && (line === '' || line.startsWith('#'))) return;
    if (buffer && line.startsWith('#')) return;
    if (!buffer) startLine = index + 1;
    buffer += (buffer ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(buffer);
      instructions.push({ keyword: keyword.toUpperCase(), args, line: startLine });
      buffer = '';
    }
  });
  return instructions;
}

function dockerignoreIncludes(patterns, file) {
  // Docker's rule: the last pattern that matches the path or one of its parent folders decides
  let included = true;
  const toRegex = (pattern) =>
    new RegExp(
      `^${pattern
        .replace(/^\/+|\/+$/g, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\u0000')
        .replace(/\*\*/g, '.*')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '(.*/)?')}$`,
    );
  const prefixes = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const regex = toRegex(negated ? raw.slice(1) : raw);
    if (prefixes.some((prefix) => regex.test(prefix))) included = negated;
  }
  return included;
}

function* walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

function checkDockerfile() {
  const where = 'docker/Dockerfile';
  const instructions = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
  const globalArgs = {};
  const stages = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args) ?? [];
      stages.push({ image, name, instructions: [], line: ins.line });
    } else if (!stages.length) {
      if (ins.keyword === 'ARG') {
        const [key, value] = ins.args.split('=');
        globalArgs[key] = value;
      }
    } else stages.at(-1).instructions.push(ins);
  }

  if (stages.length < 2) fail(where, 'must be a multi-stage build (build stage + runtime stage)');
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));
  for (const stage of stages) {
    const image = stage.image.replace(/\$\{?(\w+)\}?/g, (_, key) => globalArgs[key] ?? `<unset ${key}>`);
    if (stageNames.has(image)) continue;
    if (image.includes('<unset')) fail(`${where}:${stage.line}`, `FROM ${stage.image}: ${image}`);
    else if (!/^[^:@]+(:[^:@]+)?(@sha256:[a-f0-9]{64})?$/.test(image) || !/[:@]/.test(image)) fail(`${where}:${stage.line}`, `FROM ${image} must name a tag or digest`);
    else if (/:latest(@|$)/.test(image)) fail(`${where}:${stage.line}`, `FROM ${image}: never latest`);
    else if (!/^node:20[.\-\w]*-(slim|alpine)|^node:20[.\-\w]*(bookworm-slim|alpine[\d.]*)/.test(image)) fail(`${where}:${stage.line}`, `FROM ${image}: use node:20 slim or alpine`);
  }

  const runs = (stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  const build = stages.find((s) => /node tools\/build\.js/.test(runs(s)));
  if (!build) fail(where, 'no stage runs `node tools/build.js`');
  else if (!/npm ci\b/.test(runs(build))) fail(where, `build stage "${build.name}" must install with npm ci`);

  const runtime = stages.at(-1);
  const runtimeText = runs(runtime);
  const copiesFrom = runtime.instructions.filter((i) => i.keyword === 'COPY' && /--from=/.test(i.args));
  for (const copy of copiesFrom) {
    const from = /--from=(\S+)/.exec(copy.args)[1];
    if (!stageNames.has(from)) fail(`${where}:${copy.line}`, `COPY --from=${from}: no such stage`);
  }
  const prodDepsStage = stages.find((s) => /npm (ci|prune|install)\b[^\n]*--omit=dev|npm (ci|prune|install)\b[^\n]*--production/.test(runs(s)));
  const nodeModulesFrom = copiesFrom.find((c) => /node_modules/.test(c.args));
  const prodDepsInRuntime = /npm (ci|prune)\b[^\n]*--omit=dev/.test(runtimeText);
  if (!prodDepsInRuntime && !(nodeModulesFrom && prodDepsStage && nodeModulesFrom.args.includes(`--from=${prodDepsStage.name}`))) {
    fail(where, 'the runtime stage must get production dependencies only (npm ci/prune --omit=dev)');
  }
  if (nodeModulesFrom && build && nodeModulesFrom.args.includes(`--from=${build.name}`)) fail(where, 'runtime copies node_modules from the build stage, which holds the dev dependencies');
  if (!copiesFrom.some((c) => /\bdist\b/.test(c.args))) fail(where, 'runtime stage must copy dist/ from the build stage');

  const users = runtime.instructions.filter((i) => i.keyword === 'USER');
  const lastUser = users.at(-1)?.args.trim();
  if (!lastUser) fail(where, 'runtime stage must switch to a non-root USER');
  else if (/^(root|0)(:|$)/.test(lastUser)) fail(where, `USER ${lastUser} is root`);
  else if (!/^\d+(:\d+)?$/.test(lastUser)) fail(where, `USER ${lastUser}: use a numeric uid so Kubernetes can verify runAsNonRoot`);
  const cmd = runtime.instructions.filter((i) => i.keyword === 'CMD').at(-1);
  if (!cmd) fail(where, 'runtime stage needs a CMD');
  else {
    if (!/node dist\/apps\/\$\{?APP\}?\/src\/main\.js/.test(cmd.args)) fail(where, 'CMD must run node dist/apps/${APP}/src/main.js');
    if (users.length && users.at(-1).line > cmd.line) fail(where, 'USER must come before CMD');
  }
  if (!runtime.instructions.some((i) => i.keyword === 'ARG' && /^APP(=|$)/.test(i.args))) fail(where, 'runtime stage must declare ARG APP');
  if (!runtime.instructions.some((i) => i.keyword === 'ENV' && /\bHOST=0\.0\.0\.0\b/.test(i.args))) fail(where, 'runtime must set HOST=0.0.0.0 (the services bind 127.0.0.1 by default)');
  for (const ins of instructions) {
    if (ins.keyword === 'ADD' && /https?:\/\//.test(ins.args)) fail(`${where}:${ins.line}`, 'ADD of a URL: fetch in a RUN step with a checksum instead');
    if (ins.keyword === 'ENV' && /\b\w*(PASSWORD|SECRET|TOKEN|PRIVATE_KEY)\w*=/i.test(ins.args)) fail(`${where}:${ins.line}`, 'secrets do not belong in the image');
  }

  const healthcheck = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK');
  if (!healthcheck) fail(where, 'runtime stage needs a HEALTHCHECK');
  else {
    if (!healthcheck.args.includes('/health/live')) fail(where, 'HEALTHCHECK must probe /health/live');
    // the health check loads compiled modules by path; tools/build.js compiles <path>.ts to dist/<path>.js
    const distRequires = [...healthcheck.args.matchAll(/require\([`'"]\.\/dist\/([^`'"]+)[`'"]\)/g)].map((m) => m[1]);
    if (!distRequires.length) fail(where, 'HEALTHCHECK should read the port from the app config (no compiled module required)');
    for (const app of Object.keys(CONTRACT_PORTS)) {
      for (const module of distRequires) {
        const source = path.join(ROOT, module.replace('${process.env.APP}', app));
        if (!fs.existsSync(`${source}.ts`) && !fs.existsSync(path.join(source, 'index.ts'))) fail(where, `HEALTHCHECK requires dist/${module}, which the build does not produce for ${app}`);
      }
    }
  }

  // everything the build copies from the context must exist and survive .dockerignore
  const patterns = fs.existsSync(DOCKERIGNORE)
    ? fs.readFileSync(DOCKERIGNORE, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    : [];
  if (!patterns.length) fail('.dockerignore', 'missing or empty: node_modules, dist and local state would be sent as build context');
  for (const probe of ['node_modules/x', 'dist/x', '.git/HEAD', 'deploy/local/.state/x', 'deploy/checks/helm/libs/x.jar', '.env']) {
    if (dockerignoreIncludes(patterns, probe)) fail('.dockerignore', `${probe.split('/')[0]} is sent as build context`);
  }
  for (const stage of stages) {
    for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))) {
      const sources = copy.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        const rel = source.replace(/^\.\//, '').replace(/\/$/, '');
        if (!fs.existsSync(path.join(ROOT, rel))) fail(`${where}:${copy.line}`, `COPY ${source}: not in the repository`);
        else if (!dockerignoreIncludes(patterns, rel)) fail(`${where}:${copy.line}`, `COPY ${source}: excluded by .dockerignore`);
      }
    }
  }
  for (const dir of ['apps', 'libs', 'tools']) {
    for (const file of walk(path.join(ROOT, dir))) {
      const rel = path.relative(ROOT, file).split(path.sep).join('/');
      if (/\.ts$/.test(rel) && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(rel) && !dockerignoreIncludes(patterns, rel)) {
        fail('.dockerignore', `excludes ${rel}, which tools/build.js compiles`);
      }
    }
  }
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.base.json', 'tools/build.js']) {
    if (!dockerignoreIncludes(patterns, file)) fail('.dockerignore', `excludes ${file}, which the build needs`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// compose

function databaseOf(app) {
  const file = path.join(ROOT, 'apps', app, 'src', 'config.ts');
  const found = fs.existsSync(file) && /databaseEnv\('([a-z0-9_]+)'\)/.exec(fs.readFileSync(file, 'utf8'));
  return found ? found[1] : undefined;
}

function checkCompose() {
  const where = 'docker/compose.yaml';
  const doc = YAML.parseDocument(fs.readFileSync(COMPOSE, 'utf8'), { merge: true });
  for (const error of doc.errors) fail(where, `YAML: ${error.message}`);
  const compose = doc.toJSON() ?? {};
  const services = compose.services ?? {};
  const imageTag = (svc, name) => {
    if (!svc.image) return fail(`${where} ${name}`, 'image is required');
    if (!/:[^/:]+$/.test(svc.image) || /:latest$/.test(svc.image)) fail(`${where} ${name}`, `image ${svc.image} must carry a tag other than latest`);
  };
  const envOf = (svc) => (Array.isArray(svc.environment) ? Object.fromEntries(svc.environment.map((e) => e.split('='))) : svc.environment ?? {});
  const dependsOn = (svc) => (Array.isArray(svc.depends_on) ? Object.fromEntries(svc.depends_on.map((d) => [d, {}])) : svc.depends_on ?? {});

  const infra = { kafka: /^apache\/kafka:/, postgres: /^postgres:15(\.|-|$)/, redis: /^redis:7(\.|-|$)/ };
  for (const [name, image] of Object.entries(infra)) {
    const svc = services[name];
    if (!svc) fail(where, `service ${name} missing`);
    else {
      imageTag(svc, name);
      if (!image.test(svc.image ?? '')) fail(`${where} ${name}`, `image ${svc.image} should match ${image}`);
      if (!svc.healthcheck?.test) fail(`${where} ${name}`, 'needs a healthcheck so that the others can wait for it');
    }
  }
  const kafkaEnv = envOf(services.kafka ?? {});
  if (!/broker/.test(kafkaEnv.KAFKA_PROCESS_ROLES ?? '') || !/controller/.test(kafkaEnv.KAFKA_PROCESS_ROLES ?? '')) fail(`${where} kafka`, 'single-node KRaft needs KAFKA_PROCESS_ROLES=broker,controller');
  const internalListener = /(\w+):\/\/kafka:(\d+)/.exec(kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? '');
  if (!internalListener) fail(`${where} kafka`, 'KAFKA_ADVERTISED_LISTENERS must advertise kafka:<port> to the other containers');

  const init = services.init;
  if (!init) fail(where, 'one-shot service `init` (migrations and topics) missing');
  else {
    const command = [].concat(init.command ?? []).join(' ');
    if (!/dist\/tools\/db-migrate\.js/.test(command) || !/dist\/tools\/kafka-topics\.js/.test(command)) fail(`${where} init`, 'must run dist/tools/db-migrate.js and dist/tools/kafka-topics.js');
    if (init.restart && init.restart !== 'no') fail(`${where} init`, 'a one-shot service must not restart');
    for (const dep of ['postgres', 'kafka']) if (dependsOn(init)[dep]?.condition !== 'service_healthy') fail(`${where} init`, `must wait for ${dep} to be healthy`);
    if (!envOf(init).POSTGRES_URL) fail(`${where} init`, 'POSTGRES_URL missing (tools/services.ts derives every database URL from it)');
  }

  for (const [app, port] of Object.entries(CONTRACT_PORTS)) {
    const svc = services[app];
    const at = `${where} ${app}`;
    if (!svc) {
      fail(where, `service ${app} missing`);
      continue;
    }
    imageTag(svc, app);
    if (svc.build?.dockerfile !== 'docker/Dockerfile') fail(at, 'must build docker/Dockerfile');
    if (svc.build?.args?.APP !== app) fail(at, `build arg APP must be ${app}, not ${svc.build?.args?.APP}`);
    if (svc.build?.context && !fs.existsSync(path.join(ROOT, 'docker', svc.build.context, 'package.json'))) fail(at, `build context ${svc.build.context} is not the repository root`);
    const env = envOf(svc);
    if (Number(env.PORT) !== port) fail(at, `PORT ${env.PORT} differs from CONTRACTS §4 (${port})`);
    if (env.HOST !== '0.0.0.0') fail(at, 'HOST must be 0.0.0.0 inside a container');
    const published = (svc.ports ?? []).map(String).map((p) => Number(p.split(':').at(-1).split('/')[0]));
    if (!published.includes(port)) fail(at, `does not publish container port ${port}`);
    const database = databaseOf(app);
    if (database && !new RegExp(`@postgres:5432/${database}$`).test(env.DATABASE_URL ?? '')) fail(at, `DATABASE_URL must point at ${database} on postgres`);
    if (database && env.KAFKA_BROKERS !== `kafka:${internalListener?.[2]}`) fail(at, `KAFKA_BROKERS ${env.KAFKA_BROKERS} is not the broker's internal listener`);
    if (app === 'terminal-gateway' && !/^redis:\/\/redis:6379/.test(env.REDIS_URL ?? '')) fail(at, 'REDIS_URL must point at the redis service');
    if (ADMIN_APPS.includes(app) && !env.ADMIN_TOKEN) fail(at, 'ADMIN_TOKEN missing: the image runs with NODE_ENV=production, where an admin API needs its token');
    if (app === 'alipay-connector' && !/alipay-sandbox:3010/.test(env.ALIPAY_BASE_URL ?? '')) fail(at, 'ALIPAY_BASE_URL must default to the sandbox');
    if (database && dependsOn(svc).init?.condition !== 'service_completed_successfully') fail(at, 'must start after init completed (migrations and topics)');
  }

  // a setting given to one service that another one's own schema also reads must reach both, with one value
  // (ALIPAY_HTTP_TIMEOUT_MS: the connector's AMS timeout, from which the orchestrator times its saga)
  for (const setter of Object.keys(CONTRACT_PORTS)) {
    for (const [name, value] of Object.entries(envOf(services[setter] ?? {}))) {
      if (['PORT', 'DATABASE_URL'].includes(name)) continue;
      for (const app of Object.keys(CONTRACT_PORTS)) {
        if (app === setter || !OWN_ENV[app]?.has(name) || !services[app]) continue;
        const env = envOf(services[app]);
        if (!(name in env)) fail(`${where} ${app}`, `${name} is set for ${setter} but not here, although ${app} reads it too (apps/${app}/src/config.ts)`);
        else if (String(env[name]) !== String(value)) fail(`${where} ${app}`, `${name}=${env[name]} differs from ${setter}'s ${value}`);
      }
    }
  }

  for (const [name, svc] of Object.entries(services)) {
    for (const dep of Object.keys(dependsOn(svc))) if (!services[dep]) fail(`${where} ${name}`, `depends_on ${dep}: no such service`);
    for (const volume of svc.volumes ?? []) {
      const source = String(volume).split(':')[0];
      if (!source.startsWith('.') && !source.startsWith('/') && !(compose.volumes && source in compose.volumes)) fail(`${where} ${name}`, `volume ${source} is not declared`);
    }
  }
  const visiting = new Set();
  const done = new Set();
  const visit = (name, trail) => {
    if (done.has(name)) return;
    if (visiting.has(name)) return fail(where, `depends_on cycle: ${[...trail, name].join(' -> ')}`);
    visiting.add(name);
    for (const dep of Object.keys(dependsOn(services[name] ?? {}))) visit(dep, [...trail, name]);
    visiting.delete(name);
    done.add(name);
  };
  Object.keys(services).forEach((name) => visit(name, []));
}

const target = process.argv[2];
if (target === 'dockerfile') checkDockerfile();
else if (target === 'compose') checkCompose();
else {
  console.error('usage: validate-docker.js dockerfile|compose');
  process.exit(2);
}
if (problems.length) {
  for (const p of problems) console.error(`  ${p}`);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`${target}: structure valid`);
