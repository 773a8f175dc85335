import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { cappedDoubling } from '@ganglion/core';
import {
  tlsOptions,
  type BusSasl,
  type BusSecurity,
  type BusSecuritySource,
} from '../client/security.js';

/**
 * A stable committed-offset read (KIP-447 OffsetFetch `require_stable`, v7), which kafkajs 2.x
 * cannot send (it speaks OffsetFetch v1–v4). With `require_stable` the group coordinator
 * answers UNSTABLE_OFFSET_COMMIT for a partition while a transaction holding offsets for it
 * is still pending, instead of the offset from before that transaction. A minimal Kafka wire
 * client: ApiVersions, FindCoordinator v1, OffsetFetch v7; one connection per call, over TLS and
 * with a SASL login (PLAIN, SCRAM-SHA-256/512: SaslHandshake v1 + SaslAuthenticate v1) when the
 * bus's client has them.
 */

const API_OFFSET_FETCH = 9;
const API_FIND_COORDINATOR = 10;
const API_SASL_HANDSHAKE = 17;
const API_VERSIONS = 18;
const API_TXN_OFFSET_COMMIT = 28;
const API_SASL_AUTHENTICATE = 36;

/** Kafka error codes this client acts on (the rest are reported by name when known). */
const KAFKA_ERRORS: Readonly<Record<number, string>> = {
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  14: 'COORDINATOR_LOAD_IN_PROGRESS',
  15: 'COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR',
  30: 'GROUP_AUTHORIZATION_FAILED',
  33: 'UNSUPPORTED_SASL_MECHANISM',
  35: 'UNSUPPORTED_VERSION',
  58: 'SASL_AUTHENTICATION_FAILED',
  69: 'GROUP_ID_NOT_FOUND',
  88: 'UNSTABLE_OFFSET_COMMIT',
};
const RETRIABLE = new Set([14, 15, 16, 88]);

export class KafkaWireError extends Error {
  constructor(
    readonly code: number,
    what: string,
  ) {
    super(`${what}: ${KAFKA_ERRORS[code] ?? 'error'} (${code})`);
  }
  get retriable(): boolean {
    return RETRIABLE.has(this.code);
  }
}

/**
 * The broker does not speak OffsetFetch v7 (Kafka < 2.5): callers fall back to a plain read
 * (`partition` scope) or refuse to start (`replica` scope, {@link StableOffsetReader.requireKip447}).
 */
export class StableOffsetsUnsupportedError extends Error {}

/** The versions of each API the broker offers, by API key (ApiVersions v0). */
async function apiVersions(conn: Connection): Promise<Map<number, { min: number; max: number }>> {
  const versions = await conn.request(API_VERSIONS, 0, false, Buffer.alloc(0));
  const error = versions.int16();
  if (error !== 0) throw new KafkaWireError(error, 'ApiVersions');
  const apis = new Map<number, { min: number; max: number }>();
  versions.array(versions.int32(), () =>
    apis.set(versions.int16(), { min: versions.int16(), max: versions.int16() }),
  );
  return apis;
}

class Writer {
  private readonly parts: Buffer[] = [];
  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    return this.push(b);
  }
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.push(b);
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.push(b);
  }
  uvarint(v: number): this {
    const bytes: number[] = [];
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    bytes.push(v);
    return this.push(Buffer.from(bytes));
  }
  /** STRING / NULLABLE_STRING (int16 length). */
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).push(b);
  }
  bytes(b: Buffer): this {
    return this.int32(b.length).push(b);
  }
  compactString(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).push(b);
  }
  compactArray<T>(items: readonly T[], each: (w: this, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const it of items) each(this, it);
    return this;
  }
  noTags(): this {
    return this.uvarint(0);
  }
  private push(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  int8(): number {
    return this.buf.readInt8((this.pos += 1) - 1);
  }
  int16(): number {
    return this.buf.readInt16BE((this.pos += 2) - 2);
  }
  int32(): number {
    return this.buf.readInt32BE((this.pos += 4) - 4);
  }
  int64(): bigint {
    return this.buf.readBigInt64BE((this.pos += 8) - 8);
  }
  uvarint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.buf.readUInt8(this.pos++);
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
  }
  string(): string | null {
    const n = this.int16();
    return n < 0 ? null : this.take(n).toString('utf8');
  }
  bytes(): Buffer {
    const n = this.int32();
    return n < 0 ? Buffer.alloc(0) : this.take(n);
  }
  compactString(): string | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.take(n).toString('utf8');
  }
  array<T>(n: number, each: () => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each());
    return out;
  }
  compactArray<T>(each: () => T): T[] {
    return this.array(this.uvarint() - 1, each);
  }
  skipTags(): void {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint();
      this.take(this.uvarint());
    }
  }
  private take(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** One connection: sequential request/response, correlated by id. */
class Connection {
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | undefined;
  private failure: Error | undefined;
  private fail: (err: Error) => void = () => undefined;
  private correlation = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length < 4) return;
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const w = this.waiting;
      this.waiting = undefined;
      w?.(frame);
    });
    const onError = (err: Error): void => {
      this.failure = err;
      this.fail(err);
    };
    socket.on('error', onError);
    socket.on('close', () => onError(new Error('connection closed by the broker')));
  }

  static open(
    host: string,
    port: number,
    clientId: string,
    timeoutMs: number,
    security: BusSecurity | undefined,
  ): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = security?.tls
        ? connectTls({ host, port, ...tlsOptions(security.tls) })
        : connect({ host, port });
      const timer = setTimeout(
        () =>
          socket.destroy(new Error(`could not connect to ${host}:${port} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once(security?.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        const conn = new Connection(socket, clientId, timeoutMs);
        if (!security?.sasl) return resolve(conn);
        authenticate(conn, security.sasl).then(
          () => resolve(conn),
          (err: unknown) => {
            conn.close();
            reject(err as Error);
          },
        );
      });
    });
  }

  /** Sends a request (header v1, or v2 when `flexible`) and returns the response body. */
  async request(apiKey: number, version: number, flexible: boolean, body: Buffer): Promise<Reader> {
    if (this.failure) throw this.failure;
    const id = ++this.correlation;
    const header = new Writer().int16(apiKey).int16(version).int32(id).string(this.clientId);
    if (flexible) header.noTags();
    const payload = Buffer.concat([header.build(), body]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    const frame = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no response to request ${apiKey} v${version} within ${this.timeoutMs} ms`),
          ),
        this.timeoutMs,
      );
      this.waiting = (f) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.fail = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this.socket.write(Buffer.concat([size, payload]));
    });
    const r = new Reader(frame);
    if (r.int32() !== id) throw new Error(`response correlation id mismatch for request ${apiKey}`);
    // ApiVersions responses always use header v0, whatever the request version.
    if (flexible && apiKey !== API_VERSIONS) r.skipTags();
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** SCRAM (RFC 5802) user names escape `=` and `,`. */
function scramName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function scramAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) out.set(part.slice(0, 1), part.slice(2));
  return out;
}

/** One SaslAuthenticate v1 round trip: the server's bytes, or the broker's refusal. */
async function saslRound(conn: Connection, bytes: Buffer): Promise<Buffer> {
  const r = await conn.request(API_SASL_AUTHENTICATE, 1, false, new Writer().bytes(bytes).build());
  const code = r.int16();
  const message = r.string();
  const answer = r.bytes();
  if (code !== 0)
    throw new Error(
      `SASL authentication failed: ${message ?? KAFKA_ERRORS[code] ?? `error ${code}`}`,
    );
  return answer;
}

/** Logs in with SASL PLAIN or SCRAM-SHA-256/512 (KIP-152 framing: SaslHandshake v1, then SaslAuthenticate). */
async function authenticate(conn: Connection, sasl: BusSasl): Promise<void> {
  const hs = await conn.request(
    API_SASL_HANDSHAKE,
    1,
    false,
    new Writer().string(sasl.mechanism).build(),
  );
  const code = hs.int16();
  const enabled = hs.array(hs.int32(), () => hs.string() ?? '');
  if (code !== 0)
    throw new Error(
      `SASL ${sasl.mechanism} mechanism is not supported by the server (it offers ${enabled.join(', ')})`,
    );
  if (sasl.mechanism === 'PLAIN') {
    await saslRound(conn, Buffer.from(`\0${sasl.username}\0${sasl.password}`, 'utf8'));
    return;
  }
  const hash = sasl.mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const nonce = randomBytes(24).toString('base64');
  const clientFirstBare = `n=${scramName(sasl.username)},r=${nonce}`;
  const serverFirst = (await saslRound(conn, Buffer.from(`n,,${clientFirstBare}`))).toString();
  const attrs = scramAttributes(serverFirst);
  const serverNonce = attrs.get('r') ?? '';
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
  const iterations = Number(attrs.get('i'));
  if (!serverNonce.startsWith(nonce) || !Number.isInteger(iterations) || iterations < 1)
    throw new Error('SASL authentication failed: malformed SCRAM server-first message');
  const salted = pbkdf2Sync(
    sasl.password.normalize('NFKC'),
    salt,
    iterations,
    hash === 'sha256' ? 32 : 64,
    hash,
  );
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const finalWithoutProof = `c=biws,r=${serverNonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${finalWithoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const serverFinal = scramAttributes(
    (
      await saslRound(conn, Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`))
    ).toString(),
  );
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  const expected = createHmac(hash, serverKey).update(authMessage).digest();
  const got = Buffer.from(serverFinal.get('v') ?? '', 'base64');
  if (got.length !== expected.length || !timingSafeEqual(got, expected))
    throw new Error('SASL authentication failed: the server signature does not verify');
}

export interface StableOffsetsOptions {
  /** Brokers to ask for the group coordinator (`host:port`, or resolved lazily). */
  brokers: () => Promise<string[]>;
  clientId?: string;
  /** Per request (ms, default 10 000). */
  requestTimeoutMs?: number;
  /** TLS and SASL, as the bus's client has them (`kafkaSecurity`); loaded for each call. */
  security?: BusSecuritySource;
}

function hostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/**
 * Reads a consumer group's committed offsets with `require_stable`: a partition with a pending
 * transactional offset commit is retried (UNSTABLE_OFFSET_COMMIT), as are a coordinator that
 * is loading or moved, until `deadlineMs`.
 */
export class StableOffsetReader {
  private readonly clientId: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: StableOffsetsOptions) {
    this.clientId = options.clientId ?? 'ganglion-stable-offsets';
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /**
   * The committed offset of each partition (`undefined`: none committed). Throws
   * {@link StableOffsetsUnsupportedError} when the broker has no OffsetFetch v7, and the last
   * {@link KafkaWireError} when the offsets did not become stable before the deadline.
   */
  async fetch(
    groupId: string,
    topic: string,
    partitions: number[],
    deadlineMs = 30_000,
  ): Promise<Map<number, bigint | undefined>> {
    const until = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      const wait = cappedDoubling(5, 500, attempt);
      try {
        return await this.attempt(groupId, topic, partitions);
      } catch (err) {
        if (!(err instanceof KafkaWireError) || !err.retriable || Date.now() + wait > until)
          throw err;
        await sleep(wait);
      }
    }
  }

  /**
   * Throws {@link StableOffsetsUnsupportedError} unless the bootstrap broker speaks both KIP-447
   * requests the `replica` transaction scope sends: OffsetFetch v7 (`require_stable`) and
   * TxnOffsetCommit v3 (the consumer's generation; the kafkajs patch). Kafka ≥ 2.5 has both.
   */
  async requireKip447(): Promise<void> {
    const [bootstrap] = await this.options.brokers();
    if (!bootstrap) throw new Error('no broker to ask for its API versions');
    const security = await this.options.security?.load();
    const apis = await this.withConnection(bootstrap, security, apiVersions);
    const offsetFetch = apis.get(API_OFFSET_FETCH);
    const txnOffsetCommit = apis.get(API_TXN_OFFSET_COMMIT);
    const offers = (v: { min: number; max: number } | undefined): string =>
      v ? `v${v.min}–v${v.max}` : 'none';
    if (
      !offsetFetch ||
      offsetFetch.max < 7 ||
      offsetFetch.min > 7 ||
      !txnOffsetCommit ||
      txnOffsetCommit.max < 3 ||
      txnOffsetCommit.min > 3
    )
      throw new StableOffsetsUnsupportedError(
        `the broker does not support KIP-447 (Kafka ≥ 2.5): it offers OffsetFetch ${offers(offsetFetch)} (v7 needed) and TxnOffsetCommit ${offers(txnOffsetCommit)} (v3 needed)`,
      );
  }

  private async attempt(
    groupId: string,
    topic: string,
    partitions: number[],
  ): Promise<Map<number, bigint | undefined>> {
    const [bootstrap] = await this.options.brokers();
    if (!bootstrap) throw new Error('no broker to ask for the group coordinator');
    const security = await this.options.security?.load();
    const coordinator = await this.withConnection(bootstrap, security, async (conn) => {
      const offsetFetch = (await apiVersions(conn)).get(API_OFFSET_FETCH);
      if (!offsetFetch || offsetFetch.max < 7 || offsetFetch.min > 7)
        throw new StableOffsetsUnsupportedError(
          `the broker does not support OffsetFetch v7 (require_stable): it offers v${offsetFetch?.min ?? '?'}–v${offsetFetch?.max ?? '?'}`,
        );
      const r = await conn.request(
        API_FIND_COORDINATOR,
        1,
        false,
        new Writer().string(groupId).int8(0).build(),
      );
      r.int32(); // throttle
      const code = r.int16();
      r.string(); // error message
      r.int32(); // node id
      const host = r.string() ?? '';
      const port = r.int32();
      if (code !== 0) throw new KafkaWireError(code, `FindCoordinator for group ${groupId}`);
      return `${host}:${port}`;
    });
    return this.withConnection(coordinator, security, async (conn) => {
      const body = new Writer()
        .compactString(groupId)
        .compactArray([topic], (w, t) =>
          w
            .compactString(t)
            .compactArray(partitions, (w2, p) => w2.int32(p))
            .noTags(),
        )
        .int8(1) // require_stable
        .noTags()
        .build();
      const r = await conn.request(API_OFFSET_FETCH, 7, true, body);
      r.int32(); // throttle
      const out = new Map<number, bigint | undefined>();
      let partitionError: KafkaWireError | undefined;
      r.compactArray(() => {
        const name = r.compactString();
        r.compactArray(() => {
          const partition = r.int32();
          const offset = r.int64();
          r.int32(); // committed leader epoch
          r.compactString(); // metadata
          const code = r.int16();
          r.skipTags();
          if (code !== 0)
            partitionError ??= new KafkaWireError(
              code,
              `OffsetFetch ${groupId} ${name}[${partition}]`,
            );
          else if (name === topic) out.set(partition, offset < 0n ? undefined : offset);
        });
        r.skipTags();
      });
      const code = r.int16();
      r.skipTags();
      if (code !== 0) throw new KafkaWireError(code, `OffsetFetch ${groupId}`);
      if (partitionError) throw partitionError;
      return out;
    });
  }

  private async withConnection<T>(
    address: string,
    security: BusSecurity | undefined,
    use: (c: Connection) => Promise<T>,
  ): Promise<T> {
    const [host, port] = hostPort(address);
    const conn = await Connection.open(host, port, this.clientId, this.timeoutMs, security);
    try {
      return await use(conn);
    } finally {
      conn.close();
    }
  }
}
