/**
 * The part of pulsar-flex (1.1, a pure-JavaScript Pulsar client that ships no types) the pulsar
 * source uses, including the consumer internals it needs to close without unsubscribing.
 */
declare module 'pulsar-flex' {
  interface MessageIdData {
    ledgerid: number;
    entryid: number;
    partition: number;
    batchIndex: number;
  }

  interface ConsumerMessage {
    message: Buffer;
    metadata: {
      publishTime: number;
      partitionKey?: string;
      propertiesList: { key: string; value: string }[];
    };
    command: { messageId: MessageIdData; redeliveryCount: number };
    properties: Record<string, string>;
    ack(options?: { type?: number }): Promise<void>;
  }

  interface ConsumerOptions {
    discoveryServers: string[];
    jwt?: string;
    topic: string;
    subscription: string;
    subType: number;
    consumerName: string;
    initialPosition?: number;
    receiveQueueSize?: number;
    reconnectInterval?: number;
    logLevel?: number;
    logCreator?: () => (entry: { level: number; log: { message: string } }) => void;
  }

  class Consumer {
    constructor(options: ConsumerOptions);
    static readonly SUB_TYPES: {
      EXCLUSIVE: number;
      SHARED: number;
      FAILOVER: number;
      KEY_SHARED: number;
    };
    static readonly INITIAL_POSITION: { LATEST: number; EARLIEST: number };
    static readonly CONSUMER_STATES: Record<string, string>;
    subscribe(): Promise<void>;
    run(options: {
      onMessage: (m: ConsumerMessage) => Promise<void>;
      autoAck: boolean;
    }): Promise<void>;
    onStateChange(handler: (change: { previousState: string; newState: string }) => void): void;
    /** Internals: closing without `unsubscribe()`, which would delete the subscription. */
    _setState(state: string): void;
    _cleanState(): void;
    _client: { getCnx(): { close(): void } | null };
  }

  const logLevel: {
    NOTHING: number;
    ERROR: number;
    WARN: number;
    INFO: number;
    DEBUG: number;
    TRACE: number;
  };
  /** The package is CommonJS whose exports Node cannot name statically: a default import. */
  const flex: { Consumer: typeof Consumer; logLevel: typeof logLevel };
  export default flex;
  export type { Consumer, ConsumerMessage };
}
