// One Jest run, three tiers: unit specs beside the code, integration specs against the real local
// PostgreSQL/Redis/Kafka, and end-to-end specs that start the services and drive them over HTTP.
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    },
  ],
};
const common = { rootDir: __dirname, transform, moduleNameMapper, testEnvironment: 'node', roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test', '<rootDir>/tools'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['**/*.int-spec.ts'], setupFilesAfterEnv: ['<rootDir>/libs/shared/testing/src/jest-timeouts.js'], globalSetup: '<rootDir>/libs/shared/testing/src/global-setup.js' },
    { ...common, displayName: 'e2e', testMatch: ['**/*.e2e-spec.ts'], setupFilesAfterEnv: ['<rootDir>/libs/shared/testing/src/jest-timeouts.js'], globalSetup: '<rootDir>/libs/shared/testing/src/global-setup.js' },
  ],
};
