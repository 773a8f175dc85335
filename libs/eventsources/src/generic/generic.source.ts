import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import type { GenericEventSource } from '@ganglion/api';
import {
  argoBody,
  type BrokerSession,
  type BrokerSourceType,
  type CommonBrokerConfig,
} from '../kit/broker-source.js';

type GenericConfig = GenericEventSource & CommonBrokerConfig;

/**
 * Argo's `generic.proto` (package `generic`), the protocol a user's event source server
 * implements: `service Eventing { rpc StartEventSource(EventSource) returns (stream Event); }`
 * with `EventSource {string name = 1; bytes config = 2;}` and
 * `Event {string name = 1; bytes payload = 2;}`. Written as a protobuf.js JSON descriptor so no
 * `.proto` file has to ship beside the code; the same text is on the type's docs page.
 */
const GENERIC_PROTO = fromJSON(
  {
    nested: {
      generic: {
        nested: {
          Eventing: {
            methods: {
              StartEventSource: {
                requestType: 'EventSource',
                responseType: 'Event',
                responseStream: true,
                comment: '',
              },
            },
          },
          EventSource: {
            fields: { name: { type: 'string', id: 1 }, config: { type: 'bytes', id: 2 } },
          },
          Event: {
            fields: { name: { type: 'string', id: 1 }, payload: { type: 'bytes', id: 2 } },
          },
        },
      },
    },
  },
  { keepCase: true, defaults: true },
);

/** One `generic.Event` as the stream yields it. */
interface GenericEvent {
  name: string;
  payload: Buffer;
}

interface EventingClient extends grpc.Client {
  StartEventSource(
    request: { name: string; config: Buffer },
    metadata: grpc.Metadata,
  ): grpc.ClientReadableStream<GenericEvent>;
}

const EventingClient = (
  grpc.loadPackageDefinition(GENERIC_PROTO) as unknown as {
    generic: { Eventing: new (address: string, creds: grpc.ChannelCredentials) => EventingClient };
  }
).generic.Eventing;

/** How long connecting to the server may take before the attempt counts as failed. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Argo's `generic` source: connects to the user's gRPC server at `url` (plaintext with
 * `insecure: true`, TLS with the system's roots otherwise), calls `StartEventSource` with the
 * event's name and `config` (and `authorization: Bearer <authSecret>` metadata), and publishes
 * every streamed `Event` as `{body, metadata}`. The protocol has no acknowledgement and events no
 * identity: ids are random, as in Argo, and what was streamed but not yet on the bus when the
 * process dies is lost. Backpressure is the stream's own flow control: when the kit's window is
 * full the stream is paused, HTTP/2 stops granting the server window, and the server's writes
 * wait.
 */
export const genericSource: BrokerSourceType<GenericConfig> = {
  type: 'generic',
  async connect(ctx) {
    const c = ctx.config;
    const creds = c.insecure ? grpc.credentials.createInsecure() : grpc.credentials.createSsl();
    const client = new EventingClient(c.url, creds);
    try {
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      const metadata = new grpc.Metadata();
      const token = await ctx.optionalSecret(c.authSecret);
      if (token !== undefined) metadata.set('authorization', `Bearer ${token.trim()}`);
      const call = client.StartEventSource(
        { name: ctx.event.eventName, config: Buffer.from(c.config ?? '') },
        metadata,
      );
      let closing = false;
      call.on('data', (ev: GenericEvent) => {
        void ctx.deliver({
          data: { body: argoBody(ev.payload, c.jsonBody) },
          bytes: ev.payload.length + 64,
        });
      });
      call.on('error', (err: Error) => {
        if (!closing) ctx.fail(err);
      });
      call.on('end', () => {
        if (!closing) ctx.fail(new Error('generic: the server ended the event stream'));
      });
      const session: BrokerSession = {
        pause: () => call.pause(),
        resume: () => call.resume(),
        close() {
          closing = true;
          call.cancel();
          client.close();
          return Promise.resolve();
        },
      };
      return session;
    } catch (err) {
      client.close();
      throw err;
    }
  },
};
