/**
 * The part of pulsar-flex's generated Pulsar protocol classes (google-protobuf, PulsarApi.proto)
 * the pulsar trigger's producer uses. pulsar-flex ships no types.
 */
declare module 'pulsar-flex/src/commands/protocol/pulsar/pulsar_pb.js' {
  namespace pb {
    interface Encodable {
      serializeBinary(): Uint8Array;
    }
    class BaseCommand implements Encodable {
      static Type: Record<
        | 'CONNECT'
        | 'CONNECTED'
        | 'PRODUCER'
        | 'SEND'
        | 'SEND_RECEIPT'
        | 'SEND_ERROR'
        | 'SUCCESS'
        | 'ERROR'
        | 'CLOSE_PRODUCER'
        | 'PRODUCER_SUCCESS'
        | 'PING'
        | 'PONG'
        | 'LOOKUP'
        | 'LOOKUP_RESPONSE',
        number
      >;
      static deserializeBinary(bytes: Uint8Array): BaseCommand;
      serializeBinary(): Uint8Array;
      getType(): number;
      setType(t: number): this;
      setConnect(c: CommandConnect): this;
      setProducer(c: CommandProducer): this;
      setSend(c: CommandSend): this;
      setCloseProducer(c: CommandCloseProducer): this;
      setLookuptopic(c: CommandLookupTopic): this;
      setPong(c: CommandPong): this;
      getConnected(): object | undefined;
      getProducerSuccess(): CommandProducerSuccess | undefined;
      getSendReceipt(): CommandSendReceipt | undefined;
      getSendError(): CommandSendError | undefined;
      getSuccess(): { getRequestId(): number } | undefined;
      getError(): CommandError | undefined;
      getCloseProducer(): { getProducerId(): number } | undefined;
      getLookuptopicresponse(): CommandLookupTopicResponse | undefined;
    }
    class CommandConnect {
      setClientVersion(v: string): this;
      setProtocolVersion(v: number): this;
      setAuthMethodName(v: string): this;
      setAuthData(v: Uint8Array): this;
      setProxyToBrokerUrl(v: string): this;
    }
    class CommandProducer {
      setTopic(v: string): this;
      setProducerId(v: number): this;
      setRequestId(v: number): this;
      setProducerName(v: string): this;
      setUserProvidedProducerName(v: boolean): this;
    }
    class CommandSend {
      setProducerId(v: number): this;
      setSequenceId(v: number): this;
      setNumMessages(v: number): this;
    }
    class CommandCloseProducer {
      setProducerId(v: number): this;
      setRequestId(v: number): this;
    }
    class CommandLookupTopic {
      setTopic(v: string): this;
      setRequestId(v: number): this;
      setAuthoritative(v: boolean): this;
    }
    class CommandPong {}
    class KeyValue {
      setKey(v: string): this;
      setValue(v: string): this;
    }
    class MessageMetadata implements Encodable {
      serializeBinary(): Uint8Array;
      setProducerName(v: string): this;
      setSequenceId(v: number): this;
      setPublishTime(v: number): this;
      setPropertiesList(v: KeyValue[]): this;
    }
    interface CommandProducerSuccess {
      getRequestId(): number;
      getProducerName(): string;
      getLastSequenceId(): number;
    }
    interface CommandSendReceipt {
      getProducerId(): number;
      getSequenceId(): number;
      getMessageId(): { getLedgerid(): number; getEntryid(): number } | undefined;
    }
    interface CommandSendError {
      getProducerId(): number;
      getSequenceId(): number;
      getError(): number;
      getMessage(): string;
    }
    interface CommandError {
      getRequestId(): number;
      getError(): number;
      getMessage(): string;
    }
    interface CommandLookupTopicResponse {
      getRequestId(): number;
      getResponse(): number;
      getBrokerserviceurl(): string;
      getBrokerserviceurltls(): string;
      getAuthoritative(): boolean;
      getProxyThroughServiceUrl(): boolean;
      getError(): number;
      getMessage(): string;
    }
    const CommandLookupTopicResponse: { LookupType: { REDIRECT: 0; CONNECT: 1; FAILED: 2 } };
    const ServerError: Record<string, number>;
  }
  export default pb;
}
