import type { NSQEventSource } from '@ganglion/api';
import nsq, { type Message, type NSQDConnection } from 'nsqjs';
import {
  argoBody,
  type BrokerSession,
  type BrokerSourceType,
  type CommonBrokerConfig,
} from '../kit/broker-source.js';

type NsqConfig = NSQEventSource & CommonBrokerConfig;

/**
 * Messages nsqd sends one replica before it finished earlier ones (`RDY`, nsqjs `maxInFlight`):
 * the backpressure. Messages are finished only once the bus has them, so a slow or absent bus
 * stops the deliveries at this many; it is below the kit's window.
 */
const NSQ_MAX_IN_FLIGHT = 500;

/** How often the lookupd is asked for the topic's nsqd nodes (seconds; go-nsq's default is 60). */
const LOOKUPD_POLL_SECONDS = 15;

/** A message with the address of the nsqd it came from (go-nsq's `Message.NSQDAddress`). */
type AddressedMessage = Message & { nsqdAddress?: string };

/**
 * Argo's `nsq` source: a consumer of `topic` on `channel`, discovering the topic's nsqd nodes
 * through the nsqlookupd at `hostAddress` (its HTTP address, as go-nsq's `ConnectToNSQLookupd`).
 * Each message is finished (`FIN`) only once the bus has its event; a crash in between, or a
 * message not finished within nsqd's message timeout (60 s by default) while the bus is down,
 * makes nsqd deliver it again, with the same CloudEvent id (from nsqd's message id). Replicas
 * on the same channel share its messages (kind `group`).
 */
export const nsqSource: BrokerSourceType<NsqConfig> = {
  type: 'nsq',
  connect(ctx) {
    const c = ctx.config;
    const reader = new nsq.Reader(c.topic, c.channel, {
      lookupdHTTPAddresses: [c.hostAddress],
      lookupdPollInterval: LOOKUPD_POLL_SECONDS,
      maxInFlight: NSQ_MAX_IN_FLIGHT,
      clientId: ctx.replica,
      ...(c.tls ? { tls: true, tlsVerification: !c.tls.insecureSkipVerify } : {}),
    });
    // nsqjs does not tell a message's nsqd: note it on each message as its connection emits it
    // (before the reader re-emits it on the next tick).
    const register = reader.registerConnectionListeners.bind(reader);
    reader.registerConnectionListeners = (conn: NSQDConnection): void => {
      register(conn);
      const address = `${conn.nsqdHost}:${String(conn.nsqdPort)}`;
      conn.on('message', (m: AddressedMessage) => {
        m.nsqdAddress = address;
      });
    };
    reader.on('error', (err: Error) => ctx.logger.warn('nsq reader error', { error: err }));
    reader.on('nsqd_connected', (host: string, port: number) =>
      ctx.logger.info('nsqd connected', { nsqd: `${host}:${port}` }),
    );
    reader.on('message', (m: AddressedMessage) => {
      const nsqdAddress = m.nsqdAddress ?? '';
      const body = m.body;
      void ctx.deliver({
        naturalId: `${nsqdAddress}/${c.topic}/${m.id}`,
        data: {
          body: argoBody(body, c.jsonBody),
          timestamp: m.timestamp.toString(),
          nsqdAddress,
        },
        bytes: body.length + 64,
        ack: () => m.finish(),
      });
    });
    reader.connect();
    const session: BrokerSession = {
      pause: () => reader.pause(),
      resume: () => reader.unpause(),
      close() {
        reader.close();
        return Promise.resolve();
      },
    };
    return Promise.resolve(session);
  },
};
