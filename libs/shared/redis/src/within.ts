/**
 * `promise`, or a rejection once `ms` have passed without its answer. Redis answers in about a millisecond when
 * it answers at all; one that hangs with its connection open (a partition without a reset, a stalled server)
 * would otherwise hold its caller until the connection breaks, which may take minutes.
 *
 * A busy process reads its sockets late: after a stall of the event loop longer than `ms`, the timer runs before
 * the socket holding Redis's answer is read (timers come first in each turn of the loop). The refusal therefore
 * waits for the I/O of that turn (`setImmediate` runs after it), so a CPU-starved replica does not take a Redis
 * that answered for one that is away.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      immediate = setImmediate(() => reject(new Error(`Redis did not answer within ${ms} ms`)));
    }, ms);
  });
  return Promise.race([promise, late]).finally(() => {
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  });
}
