/**
 * `promise`, or a rejection once `ms` have passed without its answer. Redis answers in about a millisecond when
 * it answers at all; one that hangs with its connection open (a partition without a reset, a stalled server)
 * would otherwise hold its caller until the connection breaks, which may take minutes.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
