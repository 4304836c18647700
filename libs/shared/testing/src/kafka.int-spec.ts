import { allTopics } from '@upm/contracts';
import { createTestTopics, deleteOldTestTopics, testKafka, testTopicCreatedAt, uniquePrefix } from './kafka';
import { eventually } from './wait';

const HOUR = 3_600_000;

describe('the topics test runs leave behind', () => {
  const kafka = testKafka('test-topics-spec');
  const topics = async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  };

  it('knows when a suite took its prefix, and no time for a topic of no suite', () => {
    const before = Date.now();
    const createdAt = testTopicCreatedAt(`${uniquePrefix('a-suite-name')}payments.v1.events`);
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(createdAt).toBeLessThanOrEqual(Date.now());
    for (const name of ['payments.v1.events', 't-payments.v1.events', 'bench-x.payments.v1.events']) expect(testTopicCreatedAt(name)).toBeUndefined();
  });

  it('are deleted once older than the bound; a run still going on keeps its own', async () => {
    // a suite that took its prefix seven hours ago and never deleted its topics, and one that took it just now
    const old = `t-left-behind-${(Date.now() - 7 * HOUR).toString(36)}-${Math.random().toString(36).slice(2, 6)}.`;
    const running = uniquePrefix('running');
    await createTestTopics(kafka, old);
    await createTestTopics(kafka, running);
    expect(await deleteOldTestTopics(kafka, 6 * HOUR)).toBeGreaterThanOrEqual(allTopics(old).length);
    const remaining = await eventually(async () => ((names) => (names.some((n) => n.startsWith(old)) ? undefined : names))(await topics()), 30_000, 200);
    expect(remaining.filter((n) => n.startsWith(running)).sort()).toEqual(allTopics(running).map((t) => t.name).sort());
  });
});
