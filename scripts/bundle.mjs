// Bundles every service for running (after `tsc -b`): services/<name>/dist/main.js and what it
// imports become dist/bundle/<name>.js plus chunks shared between services, minified, in one
// folder. A service loads ~20 files instead of ~1 200 modules: ~10 MiB less memory per process at
// rest (docs/benchmarks.md "Seventh pass"). The image and the tests' ServiceProcess run these.
//
// What is bundled: our libraries and the packages every service loads (NestJS, rxjs, kafkajs,
// undici, ...). What is not: the packages of one source or trigger type (cloud SDKs, broker
// clients, @grpc/*, @kubernetes/client-node) and @ganglion/telemetry with its dependencies (the
// telemetry preload loads them first; one copy must serve both). Those stay in node_modules and
// are imported by a path relative to dist/bundle/ (../../node_modules/.pnpm/<package>@<version>/
// ...: the same lockfile gives the same folders in the image), loaded when first used, as before.
//
// Module-relative files move with the bundle: `new URL('./x.js', import.meta.url)` (the Lua
// worker) becomes an entry of its own, `new URL('../../proto/x.proto', import.meta.url)` a copy
// beside the bundle; `createRequire(import.meta.url)('pkg')` (a lazy synchronous load) becomes a
// bundled `require`, evaluated on first call as before.
//
//   node scripts/bundle.mjs          (from the repository root; skipped when up to date)
import { build } from 'esbuild';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
const stamp = join(outdir, '.inputs');

/** Third-party packages bundled into every service: what a service loads whatever its types. */
const BUNDLED = new Set([
  '@nestjs/common',
  '@nestjs/core',
  'rxjs',
  'reflect-metadata',
  'kafkajs',
  'cloudevents',
  'undici',
  'yaml',
  're2js',
  'fengari',
  'avsc',
]);

/**
 * Not bundled: the telemetry preload (`--import .../register.js`) loads this library before the
 * service, and the service must share its module (the SDK it started, the metrics registry).
 */
const TELEMETRY = '@ganglion/telemetry';

/** Optional packages of NestJS that no service installs or uses (NestJS loads them on demand). */
const ABSENT = [
  'class-validator',
  'class-transformer',
  '@nestjs/microservices',
  '@nestjs/websockets',
  '@nestjs/platform-express',
];

const isBuiltin = (spec) => spec.startsWith('node:') || builtinModules.includes(spec);
const packageOf = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const isWorkspaceFile = (path) => !path.split(sep).includes('node_modules');

const services = readdirSync(join(root, 'services')).filter((name) =>
  existsSync(join(root, 'services', name, 'dist', 'main.js')),
);
if (services.length === 0) throw new Error('bundle: no services/*/dist/main.js: run tsc -b first');

/** Every .js file under the workspace's dist folders (the inputs; and the URL scan). */
function distFiles() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) files.push(path);
    }
  };
  for (const group of ['libs', 'services'])
    for (const pkg of readdirSync(join(root, group))) {
      const dist = join(root, group, pkg, 'dist');
      if (pkg !== 'testing' && existsSync(dist)) walk(dist);
    }
  return files;
}

const inputs = distFiles();

// Module-relative URLs in our code: workers become entries, other files are copied.
const MODULE_URL = /new URL\((['"])([^'"]+)\1, import\.meta\.url\)/g;
const workers = new Map(); // absolute path → bundle file name
const assets = new Map();
for (const file of inputs) {
  for (const [, , rel] of readFileSync(file, 'utf8').matchAll(MODULE_URL)) {
    const target = resolve(dirname(file), rel);
    const map = target.endsWith('.js') ? workers : assets;
    const name = basename(target);
    const taken = [...workers, ...assets].find(([path, n]) => n === name && path !== target);
    if (taken)
      throw new Error(`bundle: two module-relative files named ${name}: ${taken[0]}, ${target}`);
    map.set(target, name);
  }
}

// Skipped when nothing it reads changed and its output is there.
const fingerprint = [
  createHash('sha256')
    .update(readFileSync(join(root, 'pnpm-lock.yaml')))
    .digest('hex'),
  readFileSync(fileURLToPath(import.meta.url), 'utf8'),
  ...[...inputs, ...assets.keys()].map((f) => `${f}:${statSync(f).mtimeMs}`),
].join('\n');
const upToDate =
  existsSync(stamp) &&
  readFileSync(stamp, 'utf8') === fingerprint &&
  services.every((name) => existsSync(join(outdir, `${name}.js`)));
if (upToDate) process.exit(0);

const workspacePlugin = {
  name: 'ganglion-workspace',
  setup(b) {
    // Our files: module-relative URLs point into dist/bundle/, lazy requires become bundled requires.
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!isWorkspaceFile(args.path)) return undefined;
      let text = readFileSync(args.path, 'utf8');
      text = text.replace(MODULE_URL, (_, q, rel) => {
        const target = resolve(dirname(args.path), rel);
        return `new URL(${q}./${workers.get(target) ?? assets.get(target)}${q}, import.meta.url)`;
      });
      text = text.replaceAll('createRequire(import.meta.url)(', 'require(');
      return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
    });
    // Packages our code imports and that are not bundled: a path into node_modules/.pnpm.
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('node:') || args.pluginData === 'resolving') return undefined;
      if (!isWorkspaceFile(args.importer)) return undefined;
      const pkg = packageOf(args.path);
      if ((pkg.startsWith('@ganglion/') && pkg !== TELEMETRY) || BUNDLED.has(pkg)) return undefined;
      const found = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'resolving',
      });
      if (found.errors.length > 0) return { errors: found.errors };
      if (found.external) return undefined; // a Node built-in
      const path = relative(outdir, found.path).split(sep).join('/');
      return { path: path.startsWith('../') ? path : `./${path}`, external: true };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: [
    ...services.map((name) => ({ in: `services/${name}/dist/main.js`, out: name })),
    ...[...workers].map(([path, name]) => ({ in: path, out: name.replace(/\.js$/, '') })),
  ],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  // read only with --enable-source-maps; through the dist files' own maps to the TypeScript
  sourcemap: 'linked',
  sourcesContent: false,
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  // a `require` for the lazy loads above and for bundled CommonJS packages' own
  banner: {
    js: "import { createRequire as __ganglionRequire } from 'node:module'; const require = __ganglionRequire(import.meta.url);",
  },
  plugins: [workspacePlugin],
  external: ABSENT.flatMap((pkg) => [pkg, `${pkg}/*`]),
  metafile: true,
});
for (const [path, name] of assets) copyFileSync(path, join(outdir, name));

// Nothing may still resolve from dist/bundle/ by a package name: it would find nothing there.
const bare = new Set();
for (const [file, output] of Object.entries(result.metafile.outputs))
  for (const imp of output.imports)
    if (
      imp.external &&
      !imp.path.startsWith('./') &&
      !imp.path.startsWith('../') &&
      !isBuiltin(imp.path) &&
      !ABSENT.includes(packageOf(imp.path))
    )
      bare.add(`${relative(root, file)} → ${imp.path}`);
if (bare.size > 0)
  throw new Error(`bundle: imports that would not resolve:\n  ${[...bare].join('\n  ')}`);
writeFileSync(stamp, fingerprint);
