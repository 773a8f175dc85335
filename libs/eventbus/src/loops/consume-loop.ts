import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@ganglion/telemetry';

/** The records of one partition handed to a consume loop's processor. */
export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

/** Settings every consume loop (ExactlyOnceLoop, ...) shares. */
export interface LoopBase {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  /** Start a new group at the topics' beginning instead of their end (default true: lose nothing). */
  fromBeginning?: boolean;
}
