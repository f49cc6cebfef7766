// ESLint with typed rules: the type checker's view of promises, any and unused code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Which wing of src/lib may import which: each only from the floors below it, so no arrow climbs back
// up (dpdm, in `npm run lint`, finds cycles; this finds direction). From the bottom: core is the
// vocabulary every wing speaks (models, requests, errors, the price table's format), so it imports
// none; platform (settings, storage, deadlines) only core; generation (Azure OpenAI) and callers (who
// calls) are the two outside parties on that base; cost meters generation; images, the pipeline,
// spends through cost; jobs and gallery follow a kept image. http, runtime.ts (the composition root)
// and the triggers in src/functions sit on top and may import every wing. Measured on the import graph
// (`npx dpdm -T "src/**/*.ts"`): a wing lists what it imports today, not all it could.
const WINGS = {
  core: [],
  platform: ['core'],
  generation: ['core', 'platform'],
  callers: ['core', 'platform'],
  cost: ['core', 'platform', 'generation'],
  images: ['core', 'platform', 'generation', 'cost'],
  jobs: ['core', 'platform', 'generation', 'images'],
  gallery: ['core', 'platform', 'images'],
  http: ['core', 'platform', 'generation', 'callers', 'cost', 'images', 'jobs', 'gallery'],
};
const RULE = '@typescript-eslint/no-restricted-imports';
const forbid = (regex, message, allowTypeImports = false) => ({ regex, message, allowTypeImports });
/** One block per wing and folder depth, and for what stands outside src/lib: each file matches one block, so its patterns are whole. */
const importDirections = [
  ...Object.entries(WINGS).flatMap(([wing, below]) => {
    const others = Object.keys(WINGS).filter((w) => w !== wing && !below.includes(w));
    // A file in a folder of its wing (http/openapi/) reaches the other wings one `../` further up.
    return [0, 1].map((depth) => {
      const up = '\\.\\./'.repeat(depth + 1);
      return {
        files: [`src/lib/${wing}/${'*/'.repeat(depth)}*.ts`],
        rules: {
          [RULE]: [
            'error',
            {
              patterns: [
                ...(others.length
                  ? [
                      forbid(
                        `^${up}(${others.join('|')})/`,
                        `src/lib/${wing} imports only ${below.join(', ') || 'itself'} (the table in eslint.config.mjs).`,
                      ),
                    ]
                  : []),
                forbid(
                  `^${up}\\.\\./(?!lib/)|^${up}runtime\\.js$`,
                  `src/lib/${wing} imports nothing above src/lib's wings: not runtime.ts, src/functions, src/studio or dev/.`,
                ),
              ],
            },
          ],
        },
      };
    });
  }),
  {
    files: ['src/lib/runtime.ts'],
    rules: {
      [RULE]: [
        'error',
        {
          patterns: [
            forbid('^\\.\\./', 'runtime.ts wires src/lib only: src/functions import it, not the other way round.'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/functions/**/*.ts'],
    rules: {
      [RULE]: [
        'error',
        {
          patterns: [
            forbid(
              '^\\.\\./(?!lib/)',
              'A trigger imports src/lib only: not src/studio, dev/ or another trigger folder.',
            ),
          ],
        },
      ],
    },
  },
  {
    // The studio runs in the browser: it takes the server's types and pure rules from core, and only types from the gallery and images.
    files: ['src/studio/**/*.ts'],
    rules: {
      [RULE]: [
        'error',
        {
          patterns: [
            forbid(
              '^\\.\\./(?!lib/(core|gallery|images)/)',
              'The studio imports only src/lib/core (and types from src/lib/gallery and src/lib/images).',
            ),
            forbid(
              '^\\.\\./lib/(gallery|images)/',
              'Only types from the gallery and images: their modules run on Node.',
              true,
            ),
            forbid(
              '^\\.\\./lib/core/(json|priceTable)\\.js$',
              'Only types from this module: it runs on Node (node:crypto, node:fs).',
              true,
            ),
            forbid('^node:', 'The studio runs in the browser: no Node modules.'),
          ],
        },
      ],
    },
  },
  // dev/: the stand-ins never import the app they stand in for; build steps and operator tools take what they build or run.
  {
    files: ['dev/fakes/**/*.ts', 'dev/processes.ts'],
    rules: {
      [RULE]: [
        'error',
        {
          patterns: [
            forbid(
              '^(\\.\\./)+src(/|$)',
              'A stand-in never imports src/: it must behave as Azure does, not as the app thinks it does.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['dev/build/**/*.ts'],
    rules: {
      [RULE]: [
        'error',
        {
          patterns: [
            forbid(
              '^\\.\\./\\.\\./src/(?!lib/(core|gallery|http)/)',
              'A build step imports only what it builds from: src/lib core, gallery (the wasm codecs) and http.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['dev/ops/**/*.ts'],
    rules: {
      [RULE]: [
        'error',
        {
          patterns: [
            forbid(
              '^\\.\\./\\.\\./src/(?!lib/(platform|images|gallery)/)',
              'An operator tool imports only the wings it runs: platform, images, gallery.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['dev/start.ts'],
    rules: {
      [RULE]: [
        'error',
        { patterns: [forbid('^\\.\\./src/(?!lib/platform/)', '`npm start` reads the settings only.')] },
      ],
    },
  },
];

export default tseslint.config(
  {
    ignores: [
      'vitest.config.mts',
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.dev/**',
      'examples/**',
      'infra/**',
      'connector/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Floating promises lose errors; every one must be awaited or marked void.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests assert on parsed JSON answers, whose shapes they check as they go.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  ...importDirections,
  { files: ['**/*.mjs', '**/*.mts', '**/*.js'], ...tseslint.configs.disableTypeChecked },
);
