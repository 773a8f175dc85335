import { KafkaBroker } from './kafka-broker.js';

/**
 * The run's shared broker. The test runner (scripts/test.sh) starts one broker per run and
 * passes it as `KAFKA_BROKERS`; a test file run on its own gets its own broker.
 */
let own: Promise<KafkaBroker> | undefined;

export async function kafkaBrokers(): Promise<string> {
  const fromEnv = process.env['KAFKA_BROKERS'];
  if (fromEnv) return fromEnv;
  own ??= KafkaBroker.start().then((b) => {
    // Unreferenced, so the test process can drain and reach beforeExit; stopping takes the
    // reference back so the broker's data directory is removed before the process ends.
    b.unref();
    process.once('beforeExit', () => {
      b.ref();
      void b.destroy();
    });
    return b;
  });
  return (await own).brokers;
}
