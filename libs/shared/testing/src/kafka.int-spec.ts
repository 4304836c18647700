import { allTopics } from '@upm/contracts';
import { createTestTopics, deleteTopicsStartingWith, testKafka, uniquePrefix } from './kafka';
import { eventually } from './wait';

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

  it('are deleted by prefix, and no other topic with them', async () => {
    const left = uniquePrefix('left-behind');
    const kept = uniquePrefix('kept');
    await createTestTopics(kafka, left);
    await createTestTopics(kafka, kept);
    expect(await deleteTopicsStartingWith(kafka, left)).toBe(allTopics(left).length);
    const remaining = await eventually(async () => ((names) => (names.some((n) => n.startsWith(left)) ? undefined : names))(await topics()), 30_000, 200);
    expect(remaining.filter((n) => n.startsWith(kept)).sort()).toEqual(allTopics(kept).map((t) => t.name).sort());
    expect(await deleteTopicsStartingWith(kafka, kept)).toBe(allTopics(kept).length);
  });
});
