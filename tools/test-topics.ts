/**
 * Deletes the topics earlier test runs left on the local broker (`npm test` runs it before its tiers): each suite
 * creates its own under a unique prefix, and a broker that keeps thousands of partitions stops starting.
 */
import { deleteTopicsStartingWith, testKafka } from '@upm/shared-testing';

deleteTopicsStartingWith(testKafka('test-topics'))
  .then((deleted) => console.log(deleted ? `deleted ${deleted} topics of earlier test runs` : 'no topics of earlier test runs'))
  .catch((error: unknown) => {
    // never a reason not to test: the suites create topics of their own either way
    console.error(`test-topics: ${error instanceof Error ? error.message : String(error)}`);
  });
