// ESLint: TypeScript rules plus Nx module boundaries implementing the dependency direction of
// STYLE.md: services → nest → eventsources/triggers → eventbus/k8s → core → api.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';

const allow = (...tags) => tags.map((t) => `type:${t}`);

/** Nx module boundaries (STYLE.md); libs/core's own tests may also use libs/testing. */
const boundaries = (...coreTestsMay) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      { sourceTag: 'type:api', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'type:core', onlyDependOnLibsWithTags: allow('api', ...coreTestsMay) },
      { sourceTag: 'type:telemetry', onlyDependOnLibsWithTags: [] },
      {
        sourceTag: 'type:infra',
        onlyDependOnLibsWithTags: allow('core', 'api', 'telemetry', 'testing'),
      },
      {
        sourceTag: 'type:plugin',
        onlyDependOnLibsWithTags: allow('infra', 'core', 'api', 'telemetry', 'testing'),
      },
      {
        sourceTag: 'type:nest',
        onlyDependOnLibsWithTags: allow('plugin', 'infra', 'core', 'api', 'telemetry'),
      },
      {
        sourceTag: 'type:service',
        onlyDependOnLibsWithTags: allow(
          'nest',
          'plugin',
          'infra',
          'core',
          'api',
          'telemetry',
          'testing',
        ),
      },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: allow('telemetry') },
      {
        sourceTag: 'type:tooling',
        onlyDependOnLibsWithTags: allow('testing', 'api', 'core', 'telemetry'),
      },
      {
        sourceTag: 'type:e2e',
        onlyDependOnLibsWithTags: allow('testing', 'infra', 'api', 'core', 'telemetry'),
      },
    ],
  },
];

export default [
  {
    ignores: [
      '**/dist/**',
      '**/dist-test/**',
      '**/node_modules/**',
      '.nx/**',
      '.ganglion/**',
      'deploy/**',
      'charts/**',
      '**/*.d.ts',
      'bench/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Function']",
          message: 'No new Function: parse to an AST and interpret.',
        },
      ],
      'no-eval': 'error',
      '@nx/enforce-module-boundaries': boundaries(),
    },
  },
  {
    // Product code: the test infrastructure stays out, and only libs/eventbus talks to Kafka.
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: [
      '**/*.test.ts',
      '**/*.test-support.ts',
      'libs/testing/**',
      'libs/**/bench/**',
      'libs/**/fuzz/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@ganglion/testing', message: 'libs/testing is for tests only.' }] },
      ],
    },
  },
  {
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: [
      'libs/eventbus/**',
      'libs/testing/**',
      '**/*.test.ts',
      '**/*.test-support.ts',
      'libs/**/bench/**',
      'libs/**/fuzz/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: 'Only libs/eventbus uses the Kafka client.' },
            { name: '@ganglion/testing', message: 'libs/testing is for tests only.' },
          ],
        },
      ],
    },
  },
  {
    // libs/core and libs/api are pure: no framework, no I/O.
    files: ['libs/core/src/**/*.ts', 'libs/api/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/bench/**', '**/fuzz/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@nestjs/*',
                'kafkajs',
                '@kubernetes/*',
                'node:fs',
                'node:fs/*',
                'node:net',
                'node:http',
                'node:https',
                'node:child_process',
                'fs',
                'http',
                'net',
              ],
              message: 'libs/core and libs/api are pure: no framework and no I/O.',
            },
          ],
        },
      ],
    },
  },
  {
    // libs/core's tests share libs/testing's fuzz generator instead of keeping a copy of it.
    files: [
      'libs/core/src/**/*.test.ts',
      'libs/core/src/fuzz/**/*.ts',
      'libs/core/src/bench/**/*.ts',
    ],
    rules: { '@nx/enforce-module-boundaries': boundaries('testing') },
  },
];
