// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The scanning core is a library usable without a server or a database: it must never import
// the service side of the house (DESIGN.md, "Rules of the house").
const CORE = [
  'src/image',
  'src/inventory',
  'src/versions',
  'src/advisories',
  'src/match',
  'src/sbom',
  'src/report',
];
const SERVICE_SIDE = ['service', 'store', 'queue', 'http', 'cli'];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-bench/**',
      'dist-check/**',
      '.tools/**',
      'node_modules/**',
      'test/.cache/**',
      'test/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: CORE.map((d) => `${d}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: SERVICE_SIDE.map((d) => ({
            regex: `(^|/)(src/)?${d}(/|$)|^\\.\\./(\\.\\./)*${d}(/|$)`,
            message: `The scanning core must not import ${d}/ (see DESIGN.md, rules of the house).`,
          })),
        },
      ],
    },
  },
);
