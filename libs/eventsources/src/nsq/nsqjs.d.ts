/**
 * The part of nsqjs (0.13, which ships no types) the nsq source uses.
 * https://github.com/dudleycarr/nsqjs#readme
 */
declare module 'nsqjs' {
  import { EventEmitter } from 'node:events';

  interface ReaderOptions {
    lookupdHTTPAddresses?: string[];
    nsqdTCPAddresses?: string[];
    maxInFlight?: number;
    lookupdPollInterval?: number;
    maxAttempts?: number;
    tls?: boolean;
    tlsVerification?: boolean;
    clientId?: string;
  }

  class Message {
    readonly id: string;
    readonly timestamp: bigint;
    readonly attempts: number;
    readonly body: Buffer;
    finish(): void;
    touch(): void;
  }

  interface NSQDConnection extends EventEmitter {
    nsqdHost: string;
    nsqdPort: number | string;
  }

  class Reader extends EventEmitter {
    constructor(topic: string, channel: string, options: ReaderOptions);
    connect(): void;
    close(): void;
    pause(): void;
    unpause(): void;
    registerConnectionListeners(conn: NSQDConnection): void;
  }

  const nsq: { Reader: typeof Reader };
  export default nsq;
  export type { Message, NSQDConnection, Reader, ReaderOptions };
}
