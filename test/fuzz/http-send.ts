import fc from "fast-check";
import { requests, type GeneratedRequest, type Known, type Route } from "./http.ts";

/** One route's batch, as the fuzz suite hands it to the sending thread. */
export interface HttpJob {
  base: string;
  route: Route;
  known: Known;
  seed: number;
  count: number;
  concurrency: number;
}

export interface HttpJobResult {
  sent: number;
  /** What broke the contract: a 5xx, no answer, or an error answer without a coded body. */
  failures: string[];
  statuses: [number, number][];
  /** Ids named in 2xx answers to writes: the turns they explain. */
  told: string[];
  generatedMs: number;
  sentMs: number;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Generates the route's batch and sends it with a few requests in flight. */
export async function runHttpJob(job: HttpJob): Promise<HttpJobResult> {
  const g0 = performance.now();
  const batch = fc.sample(requests(job.route, job.known), { seed: job.seed, numRuns: job.count });
  const t0 = performance.now();
  const told = new Set<string>();
  const statuses = new Map<number, number>();
  const failures = await sendAll(job.base, batch, told, statuses, job.concurrency);
  return {
    sent: batch.length,
    failures,
    statuses: [...statuses],
    told: [...told],
    generatedMs: t0 - g0,
    sentMs: performance.now() - t0,
  };
}

async function sendAll(
  base: string,
  batch: GeneratedRequest[],
  told: Set<string>,
  statuses: Map<number, number>,
  concurrency: number,
): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      const request = batch[next++]!;
      let status = 0;
      let text = "";
      try {
        const response = await fetch(`${base}${request.url}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        });
        status = response.status;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        // a read creates no turn, so its answer explains none: what matters is that it was
        // answered (reading large ones whole, an export or the OpenAPI document ten thousand
        // times, would be the whole run)
        if (status < 300 && request.method === "GET") {
          await response.body?.cancel();
          continue;
        }
        text = await response.text();
      } catch (error) {
        failures.push(`${request.method} ${request.url.slice(0, 120)}: no answer (${String(error)})`);
        continue;
      }
      if (status >= 200 && status < 300) {
        for (const id of text.match(UUID) ?? []) told.add(id);
        continue;
      }
      if (status >= 500) {
        failures.push(
          `${status} for ${request.method} ${request.url.slice(0, 120)} body ${String(request.body).slice(0, 200)}: ${text.slice(0, 200)}`,
        );
        continue;
      }
      if (status === 404 && !request.url.startsWith("/api")) continue;
      let coded = false;
      try {
        const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
        coded = typeof body.error?.code === "string" && typeof body.error?.message === "string";
      } catch {
        coded = false;
      }
      if (!coded)
        failures.push(
          `${status} without a coded error for ${request.method} ${request.url.slice(0, 120)}: ${text.slice(0, 120)}`,
        );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}
