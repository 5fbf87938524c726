/**
 * Whether `work` settles successfully within `ms`; its rejection, if it comes first, is thrown.
 * The heartbeats of the connections whose silence drops copies (timeline notices, stream copies).
 */
export async function answeredInTime(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
