import { registerHooks } from 'node:module';

/**
 * `node --import ./tools/devstack/dist/dist-test-hook.js`: a package's tests and benchmarks are
 * compiled apart from its product code (`tsconfig.test.json`: `src/**\/*.test.ts`, test support,
 * fixtures and `src/bench/` into `dist-test/`; `tsconfig.json`: the rest into `dist/`), yet they
 * import the product code by relative path as in `src/`. This hook resolves such an import from a
 * file under `<pkg>/dist-test/` that finds nothing there to the same path under `<pkg>/dist/`,
 * so the tests run against the very files that ship (one copy of each module).
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL;
    if (
      parent?.includes('/dist-test/') &&
      (specifier.startsWith('./') || specifier.startsWith('../'))
    ) {
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
        const target = new URL(specifier, parent).href;
        const i = target.lastIndexOf('/dist-test/');
        if (i < 0) throw err;
        return nextResolve(
          `${target.slice(0, i)}/dist/${target.slice(i + '/dist-test/'.length)}`,
          context,
        );
      }
    }
    return nextResolve(specifier, context);
  },
});
