import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Libraries that must stay free of frameworks and I/O: the domain and the contracts.
const frameworkImports = ['@nestjs/*', 'typeorm', 'kafkajs', 'ioredis', '@opentelemetry/*', 'pg', 'prom-client', 'pino'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'deploy/**', 'helm/**', 'docker/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: false,
          depConstraints: [
            // Scopes: a service's code uses its own scope and the shared one only.
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
            { sourceTag: 'scope:orchestrator', onlyDependOnLibsWithTags: ['scope:orchestrator', 'scope:shared'] },
            { sourceTag: 'scope:connector', onlyDependOnLibsWithTags: ['scope:connector', 'scope:shared'] },
            { sourceTag: 'scope:settlement', onlyDependOnLibsWithTags: ['scope:settlement', 'scope:shared'] },
            { sourceTag: 'scope:notification', onlyDependOnLibsWithTags: ['scope:notification', 'scope:shared'] },
            { sourceTag: 'scope:sandbox', onlyDependOnLibsWithTags: ['scope:sandbox', 'scope:shared'] },
            // Operator tools (migrations for every database, topic creation, benchmarks) may use any service's libs.
            { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:tools', 'scope:shared', 'scope:gateway', 'scope:orchestrator', 'scope:connector', 'scope:settlement', 'scope:notification', 'scope:sandbox'] },
            // Types: apps sit on top; domain and contracts at the bottom, free of frameworks.
            // Operator tools and the cross-service test suites sit beside the apps and may use any lib.
            { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['type:tooling', 'type:feature', 'type:platform', 'type:domain', 'type:contracts', 'type:client'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:platform', 'type:domain', 'type:contracts', 'type:client'] },
            { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:feature', 'type:platform', 'type:domain', 'type:contracts', 'type:client'] },
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: ['type:contracts', 'type:platform'] },
            { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'], bannedExternalImports: frameworkImports },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: frameworkImports },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
