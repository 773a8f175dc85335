import avro from 'avsc';

/** How long a schema request may take (ms). */
const REQUEST_TIMEOUT_MS = 10_000;

/** A message that is not in the schema registry's wire format, or not valid for its schema. */
export class AvroDecodeError extends Error {}

/**
 * Argo's `schemaRegistry` on the kafka source: a message value in the schema registry wire
 * format (magic byte 0, the schema id as a 4-byte big-endian integer, the Avro binary body) is
 * decoded with the writer's schema, fetched once per id from the registry's REST API
 * (`GET <url>/schemas/ids/<id>`, the Confluent protocol, which Apicurio serves under
 * `/apis/ccompat/v7` too), and turned into its Avro JSON encoding (unions wrapped, as goavro's
 * `TextualFromNative` writes it): the event's `body` is that JSON.
 */
export class AvroSchemaRegistry {
  /** Schemas being fetched (or fetched), per id. */
  private readonly fetching = new Map<number, Promise<avro.Type>>();
  /** Fetched schemas, per id. */
  private readonly types = new Map<number, avro.Type>();
  /** Ids the registry does not have, or not as Avro: those messages cannot be decoded. */
  private readonly refused = new Map<number, AvroDecodeError>();
  private readonly base: string;
  private readonly authorization: string | undefined;

  constructor(url: string, auth?: { username: string; password: string }) {
    this.base = url.replace(/\/+$/, '');
    this.authorization = auth
      ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
      : undefined;
  }

  /** The schema id of a wire-format value (throws {@link AvroDecodeError} when it is not one). */
  static schemaIdOf(value: Buffer | null): number {
    if (!value || value.length < 5 || value[0] !== 0)
      throw new AvroDecodeError(
        'schemaRegistry: the message value is not in the schema registry wire format (magic byte 0, 4-byte schema id, Avro body)',
      );
    return value.readUInt32BE(1);
  }

  /**
   * Fetches (once) the schemas of these ids; rejects when the registry cannot be asked (ids it
   * refused are remembered, not rejected: their messages cannot be decoded).
   */
  async prefetch(ids: Iterable<number>): Promise<void> {
    await Promise.all(
      [...new Set(ids)].map((id) =>
        this.type(id).then(
          () => undefined,
          (err: unknown) => {
            if (!(err instanceof AvroDecodeError)) throw err;
          },
        ),
      ),
    );
  }

  /**
   * The decoded value when its schema was fetched ({@link prefetch}), undefined otherwise; throws
   * {@link AvroDecodeError} when it cannot be decoded.
   */
  decodeCached(value: Buffer): Buffer | undefined {
    const id = AvroSchemaRegistry.schemaIdOf(value);
    const refused = this.refused.get(id);
    if (refused) throw refused;
    const type = this.types.get(id);
    return type ? toJson(type, id, value) : undefined;
  }

  /** The decoded value (its Avro JSON encoding). */
  async decode(value: Buffer | null): Promise<Buffer> {
    const id = AvroSchemaRegistry.schemaIdOf(value);
    return toJson(await this.type(id), id, value!);
  }

  private type(id: number): Promise<avro.Type> {
    const refused = this.refused.get(id);
    if (refused) return Promise.reject(refused);
    let t = this.fetching.get(id);
    if (!t) {
      t = this.fetchType(id);
      this.fetching.set(id, t);
      t.then(
        (type) => this.types.set(id, type),
        (err: unknown) => {
          // A registry that could not be asked is asked again next time.
          this.fetching.delete(id);
          if (err instanceof AvroDecodeError) this.refused.set(id, err);
        },
      );
    }
    return t;
  }

  private async fetchType(id: number): Promise<avro.Type> {
    const url = `${this.base}/schemas/ids/${id}`;
    const res = await fetch(url, {
      headers: {
        accept: 'application/vnd.schemaregistry.v1+json, application/json',
        ...(this.authorization ? { authorization: this.authorization } : {}),
      },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status === 404)
      throw new AvroDecodeError(`schemaRegistry: the registry has no schema ${id} (${url})`);
    if (!res.ok)
      throw new Error(`schemaRegistry: GET ${url} answered ${res.status}: ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as { schema?: string; schemaType?: string };
    if (body.schemaType && body.schemaType !== 'AVRO')
      throw new AvroDecodeError(
        `schemaRegistry: schema ${id} is ${body.schemaType}; only Avro is decoded (as in Argo)`,
      );
    if (typeof body.schema !== 'string')
      throw new Error(`schemaRegistry: GET ${url} returned no schema`);
    try {
      return avro.Type.forSchema(JSON.parse(body.schema) as avro.Schema, { wrapUnions: true });
    } catch (err) {
      throw new AvroDecodeError(
        `schemaRegistry: schema ${id} is not a valid Avro schema: ${(err as Error).message}`,
      );
    }
  }
}

/** Avro binary (after the 5-byte header) → Avro JSON encoding. */
function toJson(type: avro.Type, id: number, value: Buffer): Buffer {
  try {
    return Buffer.from(type.toString(type.fromBuffer(value.subarray(5))));
  } catch (err) {
    throw new AvroDecodeError(
      `schemaRegistry: the message body does not decode with schema ${id}: ${(err as Error).message}`,
    );
  }
}
