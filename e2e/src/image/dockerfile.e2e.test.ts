import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  buildah,
  ensureGanglionBaseImage,
  ensureGanglionImage,
  podman,
  REPO_ROOT,
  uniquePrefix,
} from '@ganglion/testing';

/** The proxy CA bundle the host trusts (a TLS-intercepting proxy here), if any. */
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';

/** As the charts run it: read-only root filesystem (podman mounts a tmpfs on /tmp), no network. */
const RUN = ['run', '--rm', '--read-only', '--network', 'none'];

/**
 * deploy/docker/Dockerfile, the file a user with Docker builds, built here with
 * `buildah bud --pull=never` against the local base image carrying its FROM name (no Docker Hub),
 * so that it cannot rot: its image starts the services like the one `npm run image` builds and
 * holds the same application files.
 */
describe('deploy/docker/Dockerfile builds with buildah', { timeout: 60 * 60_000 }, () => {
  const tag = `localhost/ganglion-dockerfile:${uniquePrefix('t')}`;
  let built = false;

  before(
    async () => {
      const t0 = Date.now();
      await ensureGanglionBaseImage({ withNpm: true });
      const tail: string[] = [];
      // The build's RUN steps reach the npm registry: host network (no bridge or NAT made), and
      // the host's CA bundle (a TLS-intercepting proxy) mounted for the build only.
      const ca = existsSync(HOST_CA)
        ? ['--build-arg', `NODE_EXTRA_CA_CERTS=${HOST_CA}`, '--volume', `${HOST_CA}:${HOST_CA}:ro`]
        : [];
      const r = await buildah(
        [
          'bud',
          '--pull=never',
          '--network',
          'host',
          '--ulimit',
          'nofile=1024:1024',
          '--ulimit',
          'nproc=4096:4096',
          ...ca,
          '-f',
          'deploy/docker/Dockerfile',
          '-t',
          tag,
          REPO_ROOT,
        ],
        (line) => tail.push(line) > 40 && tail.shift(),
      );
      assert.equal(r.code, 0, `buildah bud failed:\n${tail.join('\n')}`);
      built = true;
      console.log(`# Dockerfile built with buildah bud in ${Date.now() - t0} ms`);
    },
    { timeout: 55 * 60_000 },
  );

  after(async () => {
    if (built) await podman(['rmi', '-f', tag]);
  });

  it('starts a service by name on a read-only root filesystem (exit 2 with its configuration error)', async () => {
    const r = await podman([...RUN, tag, 'sensor']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /configuration error: KAFKA_BROKERS is not set/);
    const id = await podman([...RUN, '--entrypoint', 'id', tag, '-u']);
    assert.equal(id.stdout.trim(), '10001');
  });

  it('holds the same application files as the image npm run image builds', async () => {
    const { image } = await ensureGanglionImage();
    const list = async (ref: string): Promise<string> => {
      const r = await podman([
        ...RUN,
        '--entrypoint',
        'sh',
        ref,
        '-c',
        'cd /app && find dist services libs -type f | LC_ALL=C sort && ls node_modules/.pnpm | LC_ALL=C sort',
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const [fromDockerfile, fromScript] = await Promise.all([list(tag), list(image)]);
    assert.ok(fromDockerfile.includes('dist/bundle/sensor.js'));
    assert.equal(fromDockerfile, fromScript);
  });

  it('keeps the build-time CA out of the image', async () => {
    const env = await podman(['image', 'inspect', '--format', '{{json .Config.Env}}', tag]);
    assert.doesNotMatch(env.stdout, /NODE_EXTRA_CA_CERTS/);
    // The image's bundle is its own ca-certificates package's, not the host's mounted one.
    const base = await ensureGanglionBaseImage();
    const sum = async (ref: string): Promise<string> =>
      (
        await podman([
          ...RUN,
          '--entrypoint',
          'sha256sum',
          ref,
          '/etc/ssl/certs/ca-certificates.crt',
        ])
      ).stdout;
    assert.equal(await sum(tag), await sum(base));
  });
});
