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

/** What {@link changelogMirrorMembers} asks of a Kafka admin client (kafkajs's `Admin` has it). */
interface GroupAdmin {
  listGroups(): Promise<{ groups: { groupId: string }[] }>;
  describeGroups(groupIds: string[]): Promise<{ groups: { members: { clientId: string }[] }[] }>;
}

/**
 * How many members with client id `clientId` the changelog mirrors' consumer groups
 * (`ganglion-changelog-*`) have: 0 once a runner has stopped the mirror of a bus or cluster.
 */
export async function changelogMirrorMembers(admin: GroupAdmin, clientId: string): Promise<number> {
  const groups = (await admin.listGroups()).groups
    .map((g) => g.groupId)
    .filter((g) => g.startsWith('ganglion-changelog-'));
  if (groups.length === 0) return 0;
  const { groups: described } = await admin.describeGroups(groups);
  return described.flatMap((g) => g.members).filter((m) => m.clientId === clientId).length;
}
