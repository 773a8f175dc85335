import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import pb from 'pulsar-flex/src/commands/protocol/pulsar/pulsar_pb.js';

const T = pb.BaseCommand.Type;
/** Protocol version 15 (Pulsar 2.5+): enough for producer names, lookups and send receipts. */
const PROTOCOL_VERSION = 15;

/** A failure the broker reported (`ServerError` name and its message). */
class PulsarServerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'PulsarServerError';
  }
}

/** Broker errors a retry cannot fix. */
const PERMANENT = new Set([
  'AUTHENTICATIONERROR',
  'AUTHORIZATIONERROR',
  'INVALIDTOPICNAME',
  'TOPICTERMINATEDERROR',
  'NOTALLOWEDERROR',
  'UNSUPPORTEDVERSIONERROR',
]);

export function isPermanent(err: unknown): boolean {
  return err instanceof PulsarServerError && PERMANENT.has(err.code);
}

function errorName(code: number): string {
  return Object.entries(pb.ServerError).find(([, v]) => v === code)?.[0] ?? `ERROR_${code}`;
}

export interface PulsarConnectOptions {
  /** `pulsar://host:port` or `pulsar+ssl://host:port`. */
  url: string;
  /** JWT for the `token` authentication method. */
  token?: string;
  /** TLS settings for `pulsar+ssl://` URLs. */
  tls?: TlsConnectionOptions;
  /** Set when `url` is a proxy: the broker the proxy forwards this connection to. */
  proxyToBroker?: string;
  timeoutMs: number;
}

interface Pending {
  resolve: (cmd: pb.BaseCommand) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The outcome of one {@link PulsarConnection.publishOnce}. */
interface PublishResult {
  /** False when the broker already had this producer name's sequence id 0 (a repeat). */
  published: boolean;
  messageId?: string;
}

function hostPort(url: URL): { host: string; port: number; ssl: boolean } {
  const ssl = url.protocol === 'pulsar+ssl:';
  if (!ssl && url.protocol !== 'pulsar:')
    throw new Error(`unsupported URL scheme ${url.protocol} (pulsar:// or pulsar+ssl://)`);
  return { host: url.hostname, port: Number(url.port || (ssl ? 6651 : 6650)), ssl };
}

/**
 * One connection to a Pulsar broker speaking the binary protocol (CONNECT, LOOKUP, PRODUCER,
 * SEND, CLOSE_PRODUCER; PING answered), with pulsar-flex's generated protocol classes for the
 * encoding. Every request has a deadline; a closed socket fails what is pending.
 */
export class PulsarConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private nextRequestId = 0;
  private nextProducerId = 0;
  private readonly requests = new Map<number, Pending>();
  /** Sends waiting for a receipt, by producer id. */
  private readonly sends = new Map<number, Pending>();
  private connected?: Pending;
  private closedError?: Error;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  static async open(options: PulsarConnectOptions): Promise<PulsarConnection> {
    const { host, port, ssl } = hostPort(new URL(options.url));
    const socket = ssl
      ? tlsConnect({ host, port, servername: host, ...options.tls })
      : netConnect({ host, port });
    const conn = new PulsarConnection(socket, options.timeoutMs);
    const connect = new pb.CommandConnect()
      .setClientVersion('ganglion')
      .setProtocolVersion(PROTOCOL_VERSION);
    if (options.token)
      connect.setAuthMethodName('token').setAuthData(Buffer.from(options.token, 'utf8'));
    if (options.proxyToBroker) connect.setProxyToBrokerUrl(options.proxyToBroker);
    const connected = new Promise<pb.BaseCommand>((resolve, reject) => {
      conn.connected = {
        resolve,
        reject,
        timer: setTimeout(
          () =>
            reject(new Error(`no CONNECTED from ${host}:${port} within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        ),
      };
    });
    socket.once(ssl ? 'secureConnect' : 'connect', () =>
      conn.write(new pb.BaseCommand().setType(T.CONNECT).setConnect(connect)),
    );
    try {
      await connected;
    } catch (err) {
      conn.close();
      throw err;
    } finally {
      clearTimeout(conn.connected?.timer);
      conn.connected = undefined;
    }
    return conn;
  }

  /**
   * Where `topic` is served: `{url}` of the owning broker, and whether to reach it through the
   * URL this connection was opened with (a proxy).
   */
  async lookup(
    topic: string,
    authoritative: boolean,
    ssl: boolean,
  ): Promise<{ url: string; redirect: boolean; proxy: boolean }> {
    const requestId = this.nextRequestId++;
    const lookup = new pb.CommandLookupTopic()
      .setTopic(topic)
      .setRequestId(requestId)
      .setAuthoritative(authoritative);
    const cmd = await this.request(
      requestId,
      new pb.BaseCommand().setType(T.LOOKUP).setLookuptopic(lookup),
      `lookup of ${topic}`,
    );
    const r = cmd.getLookuptopicresponse();
    if (!r) throw new Error(`unexpected answer to the lookup of ${topic}`);
    const types = pb.CommandLookupTopicResponse.LookupType;
    if (r.getResponse() === types.FAILED)
      throw new PulsarServerError(errorName(r.getError()), r.getMessage() || 'lookup failed');
    return {
      url: (ssl ? r.getBrokerserviceurltls() : r.getBrokerserviceurl()) || r.getBrokerserviceurl(),
      redirect: r.getResponse() === types.REDIRECT,
      proxy: r.getProxyThroughServiceUrl(),
    };
  }

  /**
   * Publishes `payload` to `topic` as sequence id 0 of a producer named `producerName`, then
   * closes the producer. On a topic with deduplication the broker keeps, per producer name, the
   * highest sequence id it persisted: when that is already 0 the message is not sent again
   * (`published: false`), and a send racing an earlier one is dropped by the broker itself.
   */
  async publishOnce(
    topic: string,
    producerName: string,
    payload: Uint8Array,
    properties: Record<string, string>,
  ): Promise<PublishResult> {
    const producerId = this.nextProducerId++;
    const requestId = this.nextRequestId++;
    const producer = new pb.CommandProducer()
      .setTopic(topic)
      .setProducerId(producerId)
      .setRequestId(requestId)
      .setProducerName(producerName)
      .setUserProvidedProducerName(true);
    const created = await this.request(
      requestId,
      new pb.BaseCommand().setType(T.PRODUCER).setProducer(producer),
      `creating producer ${producerName} on ${topic}`,
    );
    const success = created.getProducerSuccess();
    if (!success) throw new Error(`unexpected answer to creating a producer on ${topic}`);
    try {
      if (success.getLastSequenceId() >= 0) return { published: false };
      const receipt = await this.send(producerId, producerName, payload, properties);
      const id = receipt.getSendReceipt()?.getMessageId();
      // A duplicate the broker dropped is acknowledged with the message id -1:-1.
      const ledger = id?.getLedgerid() ?? -1;
      if (ledger < 0 || ledger >= 2 ** 63) return { published: false };
      return { published: true, messageId: `${ledger}:${id?.getEntryid()}` };
    } finally {
      await this.closeProducer(producerId).catch(() => undefined);
    }
  }

  private async send(
    producerId: number,
    producerName: string,
    payload: Uint8Array,
    properties: Record<string, string>,
  ): Promise<pb.BaseCommand> {
    const metadata = new pb.MessageMetadata()
      .setProducerName(producerName)
      .setSequenceId(0)
      .setPublishTime(Date.now())
      .setPropertiesList(
        Object.entries(properties).map(([k, v]) => new pb.KeyValue().setKey(k).setValue(v)),
      );
    const send = new pb.CommandSend().setProducerId(producerId).setSequenceId(0).setNumMessages(1);
    const answer = this.pending(this.sends, producerId, `send on ${producerName}`);
    this.write(new pb.BaseCommand().setType(T.SEND).setSend(send), metadata, payload);
    return answer;
  }

  private async closeProducer(producerId: number): Promise<void> {
    if (this.closed) return;
    const requestId = this.nextRequestId++;
    const close = new pb.CommandCloseProducer().setProducerId(producerId).setRequestId(requestId);
    await this.request(
      requestId,
      new pb.BaseCommand().setType(T.CLOSE_PRODUCER).setCloseProducer(close),
      'closing the producer',
    );
  }

  close(): void {
    this.fail(new Error('connection closed'));
    this.socket.destroy();
  }

  private request(requestId: number, cmd: pb.BaseCommand, what: string): Promise<pb.BaseCommand> {
    const answer = this.pending(this.requests, requestId, what);
    this.write(cmd);
    return answer;
  }

  private pending(map: Map<number, Pending>, key: number, what: string): Promise<pb.BaseCommand> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        map.delete(key);
        reject(new Error(`${what}: no answer from the broker within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      map.set(key, { resolve, reject, timer });
    });
  }

  /** Frames a command (`[total][size][command]`), with metadata and payload when given. */
  private write(cmd: pb.BaseCommand, metadata?: pb.MessageMetadata, payload?: Uint8Array): void {
    const command = cmd.serializeBinary();
    const parts: Uint8Array[] = [command];
    if (metadata && payload) {
      const meta = metadata.serializeBinary();
      const metaSize = Buffer.alloc(4);
      metaSize.writeUInt32BE(meta.length);
      // Magic number and checksum are optional in the frame: the broker verifies them if present.
      parts.push(metaSize, meta, payload);
    }
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length + 4, 0);
    head.writeUInt32BE(command.length, 4);
    this.socket.write(Buffer.concat([head, body]));
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 8) {
      const total = this.buffer.readUInt32BE(0);
      if (this.buffer.length < total + 4) return;
      const size = this.buffer.readUInt32BE(4);
      const cmd = pb.BaseCommand.deserializeBinary(this.buffer.subarray(8, 8 + size));
      this.buffer = this.buffer.subarray(total + 4);
      this.dispatch(cmd);
    }
  }

  private settle(map: Map<number, Pending>, key: number, cmd: pb.BaseCommand | Error): void {
    const p = map.get(key);
    if (!p) return;
    map.delete(key);
    clearTimeout(p.timer);
    if (cmd instanceof Error) p.reject(cmd);
    else p.resolve(cmd);
  }

  private dispatch(cmd: pb.BaseCommand): void {
    switch (cmd.getType()) {
      case T.CONNECTED:
        this.connected?.resolve(cmd);
        return;
      case T.PING:
        this.write(new pb.BaseCommand().setType(T.PONG).setPong(new pb.CommandPong()));
        return;
      case T.PRODUCER_SUCCESS:
        return this.settle(this.requests, cmd.getProducerSuccess()!.getRequestId(), cmd);
      case T.SUCCESS:
        return this.settle(this.requests, cmd.getSuccess()!.getRequestId(), cmd);
      case T.LOOKUP_RESPONSE:
        return this.settle(this.requests, cmd.getLookuptopicresponse()!.getRequestId(), cmd);
      case T.ERROR: {
        const e = cmd.getError()!;
        const err = new PulsarServerError(errorName(e.getError()), e.getMessage());
        if (this.connected) this.connected.reject(err);
        return this.settle(this.requests, e.getRequestId(), err);
      }
      case T.SEND_RECEIPT:
        return this.settle(this.sends, cmd.getSendReceipt()!.getProducerId(), cmd);
      case T.SEND_ERROR: {
        const e = cmd.getSendError()!;
        const err = new PulsarServerError(errorName(e.getError()), e.getMessage());
        return this.settle(this.sends, e.getProducerId(), err);
      }
      case T.CLOSE_PRODUCER:
        // The broker closed a producer (topic unloaded): its send is retried by the executor.
        return this.settle(
          this.sends,
          cmd.getCloseProducer()!.getProducerId(),
          new Error('the broker closed the producer (topic moved or unloaded)'),
        );
      default:
        return;
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.connected?.reject(err);
    for (const map of [this.requests, this.sends])
      for (const key of [...map.keys()]) this.settle(map, key, err);
  }
}
