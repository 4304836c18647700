#!/usr/bin/env node
// Usage: node prepare-charts.js <chart-dir> <values-file> <out-dir>
//
// Makes two working copies of a chart for HelmCheck.java, working around two limits of helm-java:
// - <out-dir>/lint: the profile's values merged into values.yaml the way `helm -f` merges them (maps merge key
//   by key, anything else is replaced, null deletes the key), because its lint command takes no values file;
// - <out-dir>/render: the chart with each `helm.sh/hook` annotation renamed to `HOOK_ANNOTATION`, because its
//   template command drops hook resources (the jobs) from the output; validate-k8s.js reads the renamed key.
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const HOOK_ANNOTATION = 'checks.upm.local/helm-hook';

function coalesce(base, overlay) {
  if (!isMap(base) || !isMap(overlay)) return overlay;
  const merged = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete merged[key];
    else merged[key] = key in merged ? coalesce(merged[key], value) : value;
  }
  return merged;
}

function isMap(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readYaml(file) {
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJSON() ?? {};
}

function main() {
  const [chart, valuesFile, out] = process.argv.slice(2);
  if (!chart || !valuesFile || !out) {
    console.error('usage: prepare-lint-chart.js <chart-dir> <values-file> <out-dir>');
    process.exit(2);
  }
  fs.rmSync(out, { recursive: true, force: true });
  const lint = path.join(out, 'lint');
  const render = path.join(out, 'render');
  fs.cpSync(chart, lint, { recursive: true });
  fs.cpSync(chart, render, { recursive: true });

  const merged = coalesce(readYaml(path.join(chart, 'values.yaml')), readYaml(valuesFile));
  fs.writeFileSync(path.join(lint, 'values.yaml'), YAML.stringify(merged));

  const templates = path.join(render, 'templates');
  for (const file of fs.readdirSync(templates)) {
    const full = path.join(templates, file);
    const text = fs.readFileSync(full, 'utf8');
    fs.writeFileSync(full, text.replace(/\bhelm\.sh\/hook:/g, `${HOOK_ANNOTATION}:`));
  }
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
