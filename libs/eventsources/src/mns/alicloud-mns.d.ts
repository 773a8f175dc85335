/**
 * The part of Alibaba Cloud's official MNS client for Node (`@alicloud/mns` 1.2, which ships no
 * types) the mns source uses. Every XML element arrives as a string.
 */
declare module '@alicloud/mns' {
  interface MnsMessage {
    MessageId: string;
    ReceiptHandle: string;
    MessageBody: string;
    MessageBodyMD5?: string;
    EnqueueTime?: string;
    FirstDequeueTime?: string;
    NextVisibleTime?: string;
    DequeueCount?: string;
    Priority?: string;
  }
  interface Response<B> {
    code: number;
    headers: Record<string, string>;
    body: B;
  }
  class Client {
    constructor(
      accountId: string,
      opts: {
        accessKeyId: string;
        accessKeySecret: string;
        endpoint?: string;
        region?: string;
        readTimeout?: number;
        connectTimeout?: number;
      },
    );
    batchReceiveMessage(
      queue: string,
      numOfMessages: number,
      waitSeconds?: number,
    ): Promise<Response<MnsMessage[]>>;
    batchDeleteMessage(
      queue: string,
      receiptHandles: string[],
    ): Promise<
      Response<{ ErrorCode: string; ErrorMessage: string; ReceiptHandle: string }[] | undefined>
    >;
    changeMessageVisibility(
      queue: string,
      receiptHandle: string,
      visibilityTimeout: number,
    ): Promise<Response<{ ReceiptHandle: string; NextVisibleTime: string }>>;
  }
  export default Client;
  export type { MnsMessage };
}

/** The client's XML helpers (its own parsing of MNS responses). */
declare module '@alicloud/mns/lib/helper.js' {
  export function parseXML(xml: string): Promise<Record<string, unknown>>;
  export function extract(value: unknown): unknown;
}
