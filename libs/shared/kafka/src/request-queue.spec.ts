import { KafkaRequestQueue, kafkaRequestQueueClass, mendKafkaRequestQueue } from './request-queue';

type Queue = KafkaRequestQueue & {
  inflight: Map<number, unknown>;
  push(request: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(answer: { correlationId: number; payload: null; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
};

const RequestQueue = kafkaRequestQueueClass() as unknown as new (options: object) => Queue;
const kafkajsSchedule = kafkaRequestQueueClass().prototype.scheduleCheckPendingRequests;
const silent = { debug: () => undefined, warn: () => undefined };

function queue(maxInFlightRequests?: number): Queue {
  return new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, clientId: 'test', broker: 'b:1', logger: silent });
}

/** Pushes a request, resolved when the broker's answer is fulfilled; `sent` lists correlation ids as they go out. */
function push(q: Queue, correlationId: number, sent: number[]): Promise<unknown> {
  return new Promise((resolve, reject) =>
    q.push({ entry: { correlationId, apiKey: 3, apiName: 'Metadata', apiVersion: 6, resolve, reject }, expectResponse: true, sendRequest: () => sent.push(correlationId) }),
  );
}

/** Sends one request, answers it, then lets the queue sit idle for 100 ms, counting its checks of pending requests. */
async function oneAnswerThenIdle(q: Queue) {
  const checks = jest.spyOn(q, 'checkPendingRequests');
  const sent: number[] = [];
  const answered = push(q, 1, sent);
  q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
  await answered;
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { q, checks, sent };
}

describe('the kafkajs request queue', () => {
  const queues: Queue[] = [];
  const track = (q: Queue) => (queues.push(q), q);
  afterEach(() => {
    for (const q of queues.splice(0)) {
      if (q.throttleCheckTimeoutId) clearTimeout(q.throttleCheckTimeoutId);
      q.destroy();
    }
  });

  it('as shipped, keeps checking an empty queue after every answer (the spin this replaces)', async () => {
    const proto = kafkaRequestQueueClass().prototype;
    const mended = proto.scheduleCheckPendingRequests;
    proto.scheduleCheckPendingRequests = kafkajsSchedule;
    try {
      const { q, checks } = await oneAnswerThenIdle(track(queue()));
      expect(q.pending).toHaveLength(0);
      expect(checks.mock.calls.length).toBeGreaterThan(20);
    } finally {
      proto.scheduleCheckPendingRequests = mended;
    }
  });

  describe('mended', () => {
    beforeAll(() => mendKafkaRequestQueue());

    it('arms no timer once the broker answered and nothing waits', async () => {
      const { q, checks, sent } = await oneAnswerThenIdle(track(queue()));
      expect(sent).toEqual([1]);
      expect(q.throttleCheckTimeoutId).toBeNull();
      expect(checks).toHaveBeenCalledTimes(1); // the answer's own check
    });

    it('sends a request held back by the in-flight limit as soon as an answer frees a slot', async () => {
      const q = track(queue(1));
      const sent: number[] = [];
      const first = push(q, 1, sent);
      const second = push(q, 2, sent);
      expect(sent).toEqual([1]);
      expect(q.pending).toHaveLength(1);
      q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
      await first;
      expect(sent).toEqual([1, 2]);
      q.fulfillRequest({ correlationId: 2, payload: null, size: 0 });
      await second;
      expect(q.pending).toHaveLength(0);
      // the check armed while request 2 waited runs once more, finds nothing and arms no other
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(q.throttleCheckTimeoutId).toBeNull();
    });

    it('sends what waited out a broker throttle when the throttle ends, with no answer to wake it', async () => {
      const q = track(queue());
      q.maybeThrottle(80);
      const sent: number[] = [];
      const startedAt = Date.now();
      void push(q, 1, sent);
      expect(sent).toEqual([]);
      expect(q.throttleCheckTimeoutId).not.toBeNull();
      while (!sent.length && Date.now() - startedAt < 2000) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(sent).toEqual([1]);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(75);
      expect(q.throttleCheckTimeoutId).toBeNull();
    });
  });
});
