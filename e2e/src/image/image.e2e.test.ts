import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGanglionImage, podman, REPO_ROOT, type GanglionImage } from '@ganglion/testing';

/** Every service the image carries (services/<name>/package.json). */
const SERVICE_NAMES = readdirSync(join(REPO_ROOT, 'services'))
  .filter((n) => existsSync(join(REPO_ROOT, 'services', n, 'package.json')))
  .sort();

/** As the charts run it: read-only root filesystem (podman mounts a tmpfs on /tmp), no network. */
const RUN = ['run', '--rm', '--read-only', '--network', 'none'];

/**
 * The image scripts/image.sh builds (`npm run image`): one image for every service, non-root,
 * started by the entrypoint with the service's name, on a read-only root filesystem.
 */
describe('the Ganglion image (npm run image)', { timeout: 45 * 60_000 }, () => {
  let img: GanglionImage;

  before(
    async () => {
      const t0 = Date.now();
      img = await ensureGanglionImage();
      console.log(`# ${img.image} on ${img.base} ready in ${Date.now() - t0} ms`);
    },
    { timeout: 40 * 60_000 },
  );

  it('runs as uid 10001 with ganglion-service as its entrypoint', async () => {
    const inspect = await podman([
      'image',
      'inspect',
      '--format',
      '{{.Config.User}} {{json .Config.Entrypoint}}',
      img.image,
    ]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.stdout.trim(), '10001:10001 ["/usr/local/bin/ganglion-service"]');
    const id = await podman([...RUN, '--entrypoint', 'id', img.image]);
    assert.equal(id.code, 0, id.stderr);
    assert.match(id.stdout, /^uid=10001\(ganglion\) gid=10001\(ganglion\)/);
  });

  it('carries the built JavaScript and production dependencies only (no TypeScript, tests or dev tools)', async () => {
    const r = await podman([
      ...RUN,
      '--entrypoint',
      'sh',
      img.image,
      '-c',
      'cd /app && ls services | tr "\\n" " "; echo; ' +
        'find . -name "*.ts" -not -path "./node_modules/*" | head -3; ' +
        'ls -d node_modules/.pnpm/typescript@* node_modules/.pnpm/eslint@* node_modules/.pnpm/esbuild@* libs/testing e2e tools dist-test */*/dist-test services/*/dist 2>/dev/null; ' +
        'node -v',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [services, ...rest] = r.stdout.trim().split('\n');
    assert.deepEqual(services!.trim().split(' '), SERVICE_NAMES);
    // Only the node version line: no .ts file, no dev package, no test folder, no unbundled service.
    assert.equal(rest.length, 1, rest.join('\n'));
    assert.match(rest[0]!, /^v24\./);
  });

  it('starts every service by name on a read-only root: each stops with its configuration error (exit 2), none with a crash', async () => {
    // One container, each service started through the entrypoint (as a pod's args do).
    const r = await podman([
      ...RUN,
      '--entrypoint',
      'sh',
      img.image,
      '-c',
      // Side by side (they only start and stop), then reported in order.
      'for s in "$@"; do (ganglion-service "$s" >"/tmp/$s.out" 2>&1; echo $? >"/tmp/$s.code") & done; wait; ' +
        'for s in "$@"; do echo "$s $(cat "/tmp/$s.code") $(tail -c 400 "/tmp/$s.out" | tr "\\n" " ")"; done',
      'sh',
      ...SERVICE_NAMES,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, SERVICE_NAMES.length, r.stdout);
    for (const [i, line] of lines.entries()) {
      const [name, code] = line.split(' ');
      assert.equal(name, SERVICE_NAMES[i]);
      assert.equal(code, '2', `${name} should exit 2 with its configuration error: ${line}`);
      assert.match(line, /configuration error: /, line);
      assert.doesNotMatch(line, /EROFS|read-only file system|at .*\.js:\d+/, line);
    }
  });

  it('a service started with a missing required setting exits 2 naming it', async () => {
    const r = await podman([...RUN, img.image, 'sensor']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /configuration error: KAFKA_BROKERS is not set/);
  });

  it('--help lists the services; an unknown service exits 2 naming the known ones', async () => {
    const help = await podman([...RUN, img.image, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stderr, /usage: ganglion-service SERVICE/);
    for (const name of SERVICE_NAMES) assert.match(help.stderr, new RegExp(`\\b${name}\\b`));
    const unknown = await podman([...RUN, img.image, 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown service 'nope' \(have: .*ingress-webhook/);
  });
});
