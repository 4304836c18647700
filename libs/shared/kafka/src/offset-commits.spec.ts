import type { TopicPartitionOffset } from 'kafkajs';
import { createLogger } from '@upm/shared-observability';
import { OffsetCommits } from './offset-commits';

const logger = createLogger('test', 'silent');

function committer() {
  const calls: TopicPartitionOffset[][] = [];
  const commit = async (offsets: TopicPartitionOffset[]) => {
    calls.push(offsets);
  };
  return { calls, commit };
}

describe('OffsetCommits', () => {
  it('commits the next offset of each partition once per flush, however many batches settled since', async () => {
    const { calls, commit } = committer();
    const commits = new OffsetCommits(commit, 60_000, logger);
    for (let offset = 0; offset < 50; offset++) commits.settled('t', offset % 2, String(offset));
    commits.settled('retry', 0, '7');
    await commits.flush();
    expect(calls).toEqual([[
      { topic: 't', partition: 0, offset: '49' },
      { topic: 't', partition: 1, offset: '50' },
      { topic: 'retry', partition: 0, offset: '8' },
    ]]);
    await commits.flush();
    expect(calls).toHaveLength(1); // nothing new, nothing sent
  });

  it('keeps offsets above 2^53 exact', async () => {
    const { calls, commit } = committer();
    const commits = new OffsetCommits(commit, 60_000, logger);
    commits.settled('t', 0, '9007199254740993');
    await commits.flush();
    expect(calls[0][0].offset).toBe('9007199254740994');
  });

  it('puts a failed commit back for the next tick without overwriting a newer offset', async () => {
    const calls: TopicPartitionOffset[][] = [];
    let fail!: () => void;
    const commit = jest.fn(async (offsets: TopicPartitionOffset[]) => {
      if (commit.mock.calls.length === 1) await new Promise<void>((_, reject) => (fail = () => reject(new Error('REBALANCE_IN_PROGRESS'))));
      calls.push(offsets);
    });
    const commits = new OffsetCommits(commit, 60_000, logger);
    commits.settled('t', 0, '3');
    commits.settled('t', 1, '4');
    const failing = commits.flush();
    await new Promise((resolve) => setImmediate(resolve)); // the first commit is under way
    commits.settled('t', 1, '9');
    fail();
    await failing;
    expect(calls).toEqual([]);
    await commits.flush();
    expect(calls).toEqual([[{ topic: 't', partition: 1, offset: '10' }, { topic: 't', partition: 0, offset: '4' }]]);
  });

  it('drops offsets of partitions the member lost in a rebalance', async () => {
    const { calls, commit } = committer();
    const commits = new OffsetCommits(commit, 60_000, logger);
    commits.settled('t', 0, '3');
    commits.settled('t', 1, '4');
    commits.settled('u', 0, '5');
    commits.retain({ t: [1], v: [0] });
    commits.settled('t', 0, '9'); // a batch of a lost partition that finished after the rebalance
    await commits.flush();
    expect(calls).toEqual([[{ topic: 't', partition: 1, offset: '5' }]]);
  });

  it('commits on its interval and once more on stop', async () => {
    jest.useFakeTimers();
    try {
      const { calls, commit } = committer();
      const commits = new OffsetCommits(commit, 1000, logger);
      commits.start();
      commits.settled('t', 0, '1');
      await jest.advanceTimersByTimeAsync(999);
      expect(calls).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toEqual([[{ topic: 't', partition: 0, offset: '2' }]]);
      commits.settled('t', 0, '2');
      await commits.stop();
      expect(calls).toEqual([[{ topic: 't', partition: 0, offset: '2' }], [{ topic: 't', partition: 0, offset: '3' }]]);
      commits.settled('t', 0, '3');
      await jest.advanceTimersByTimeAsync(5000);
      expect(calls).toHaveLength(2); // stopped: the interval is gone
    } finally {
      jest.useRealTimers();
    }
  });
});
