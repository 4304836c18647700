/**
 * Deletes the topics of test runs more than six hours old from the local broker (`npm test` runs it before its
 * tiers): each suite creates its own under a unique prefix, and a broker that keeps thousands of partitions stops
 * starting. Younger ones may belong to a run still going on beside it.
 */
import { deleteOldTestTopics, testKafka } from '@upm/shared-testing';

const SIX_HOURS_MS = 6 * 3_600_000;

deleteOldTestTopics(testKafka('test-topics'), SIX_HOURS_MS)
  .then((deleted) => console.log(deleted ? `deleted ${deleted} topics of earlier test runs` : 'no topics of earlier test runs'))
  .catch((error: unknown) => {
    // never a reason not to test: the suites create topics of their own either way
    console.error(`test-topics: ${error instanceof Error ? error.message : String(error)}`);
  });
