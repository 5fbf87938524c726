import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SPECTATOR } from "@loom/shared";
import { saltMarches, turnFixture } from "@loom/shared/testing";
import { OpenAiNarrator, type OpenAiNarratorOptions } from "./openai-narrator.ts";
import { NarratorError } from "./narrator.ts";
import {
  startChatServer,
  type ChatBehaviour,
  type ChatRequestSeen,
  type ChatServer,
} from "./testing/chat-server.ts";

let endpoint: ChatServer | null = null;
afterEach(async () => {
  await endpoint?.close();
  endpoint = null;
});

const options = (url: string): OpenAiNarratorOptions => ({
  url,
  model: "story-7b",
  apiKey: "sk-test",
  timeoutMs: 2_000,
  retries: 2,
  backoffMs: 10,
  maxTokens: 200,
  temperature: 0.7,
  promptBudget: 1_500,
});

async function narrator(
  behave: (n: number, seen: ChatRequestSeen) => ChatBehaviour,
  overrides: Partial<OpenAiNarratorOptions> = {},
): Promise<OpenAiNarrator> {
  endpoint = await startChatServer(behave);
  const subject = new OpenAiNarrator({ ...options(endpoint.url), ...overrides });
  await subject.ready();
  return subject;
}

function request(chunks: string[], signal = new AbortController().signal, seed = 1234) {
  const turn = turnFixture({
    position: 4,
    characterId: "mara",
    text: "Mara Vell overcomes the flooded stair",
  });
  return {
    turn,
    state: saltMarches(),
    previous: [turnFixture({ position: 3, characterId: "kest", text: "Kest haggles with Old Wick" })],
    viewer: SPECTATOR,
    seed,
    signal,
    onChunk: (chunk: string) => chunks.push(chunk),
  };
}

describe("the OpenAI-compatible narrator (against a local chat-completions server)", () => {
  it("streams the prose chunk by chunk and returns what the record needs", async () => {
    const subject = await narrator(() => ({
      chunks: ["Mara wades ", "up the stair; ", "the water gives way."],
    }));
    const chunks: string[] = [];
    const output = await subject.narrate(request(chunks));
    expect(chunks).toEqual(["Mara wades ", "up the stair; ", "the water gives way."]);
    expect(output.text).toBe("Mara wades up the stair; the water gives way.");
    expect(output.model).toBe("story-7b");
    expect(output.endpoint).toBe(new URL(endpoint!.url).host);
    expect(output.tokens).toEqual({ prompt: 100, completion: 9 });
    expect(output.promptHash).toMatch(/^[0-9a-f]{64}$/);
    expect(output.parameters).toMatchObject({
      temperature: 0.7,
      max_tokens: 200,
      seed: 1234,
      model: "story-7b",
    });
    const seen = endpoint!.requests[0]!;
    expect(seen.body.stream).toBe(true);
    expect(seen.body.seed).toBe(1234);
    expect(seen.authorization).toBe("Bearer sk-test");
    expect(seen.body.messages[1]!.content).toContain("Kest haggles with Old Wick");
  });

  it("retries a failure before any prose with backoff, then succeeds", async () => {
    const subject = await narrator((n) => (n < 2 ? { status: 503 } : { chunks: ["At last."] }));
    const output = await subject.narrate(request([]));
    expect(output.text).toBe("At last.");
    expect(endpoint!.requests).toHaveLength(3);
  });

  it("gives up after its retries with an error", async () => {
    const subject = await narrator(() => ({ status: 500 }), { retries: 1 });
    const error = await subject.narrate(request([])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NarratorError);
    expect((error as NarratorError).reason).toBe("error");
    // the status and the endpoint's own words, read from the error's body
    expect((error as NarratorError).message).toContain("500");
    expect((error as NarratorError).message).toContain("scripted failure");
    expect(endpoint!.requests).toHaveLength(2);
  });

  it("times out a slow endpoint, and a stream that stalls after its first chunk is not asked again", async () => {
    // an answer after 20 s would be a text, not a timeout: no clock needed to tell them apart
    const slow = await narrator(() => ({ delayMs: 20_000 }), { timeoutMs: 150, retries: 0 });
    const error = await slow.narrate(request([])).catch((e: unknown) => e);
    expect((error as NarratorError).reason).toBe("timeout");
    await endpoint!.close();

    // room enough for the first chunk on a busy machine, none for the second
    const stalls = await narrator(() => ({ chunks: ["Half ", "of it"], chunkDelayMs: 3_000 }), {
      timeoutMs: 1_000,
      retries: 2,
    });
    const chunks: string[] = [];
    const stalled = await stalls.narrate(request(chunks)).catch((e: unknown) => e);
    expect((stalled as NarratorError).reason).toBe("timeout");
    expect(chunks).toEqual(["Half "]);
    expect(endpoint!.requests).toHaveLength(1);
  });

  it("bounds a whole telling by its time: an attempt that ran out of it is not retried", async () => {
    // an answer after 20 s would be a text, not a timeout
    const subject = await narrator(() => ({ delayMs: 20_000 }), { timeoutMs: 400, retries: 2 });
    const started = performance.now();
    const error = await subject.narrate(request([])).catch((e: unknown) => e);
    expect((error as NarratorError).reason).toBe("timeout");
    // one attempt and its time, not three of them and the backoffs between
    expect(performance.now() - started).toBeLessThan(800);
    expect(endpoint!.requests).toHaveLength(1);
  });

  it("retries within the telling's time only: no backoff or attempt past it", async () => {
    // a quick refusal, then an endpoint that never answers: the retry gets what is left
    const subject = await narrator((n) => (n === 0 ? { status: 503 } : { delayMs: 20_000 }), {
      timeoutMs: 500,
      retries: 2,
    });
    const started = performance.now();
    const error = await subject.narrate(request([])).catch((e: unknown) => e);
    expect((error as NarratorError).reason).toBe("timeout");
    expect(performance.now() - started).toBeLessThan(900);
    expect(endpoint!.requests).toHaveLength(2);
  });

  it("leaves an endpoint that ran out of time alone for as long, then lets one telling ask it", async () => {
    let answers = false;
    const subject = await narrator(
      () => (answers ? { chunks: ["Back."], chunkDelayMs: 200 } : { delayMs: 20_000 }),
      {
        timeoutMs: 300,
        retries: 2,
      },
    );
    expect(((await subject.narrate(request([])).catch((e: unknown) => e)) as NarratorError).reason).toBe(
      "timeout",
    );
    // resting: told at once that it was not asked, with the reason that put it to rest
    const resting = await subject.narrate(request([])).catch((e: unknown) => e);
    expect(resting).toBeInstanceOf(NarratorError);
    expect((resting as NarratorError).reason).toBe("timeout");
    expect((resting as NarratorError).message).toContain("not asked");
    expect(endpoint!.requests).toHaveLength(1);
    // once the rest is over, one telling asks it; another meanwhile is not held up
    answers = true;
    await new Promise((resolve) => setTimeout(resolve, 350));
    const probe = subject.narrate(request([]));
    const meanwhile = await subject.narrate(request([])).catch((e: unknown) => e);
    expect((meanwhile as NarratorError).message).toContain("not asked");
    expect((await probe).text).toBe("Back.");
    expect(endpoint!.requests).toHaveLength(2);
    // an answer ends the rest
    expect((await subject.narrate(request([]))).text).toBe("Back.");
    expect(endpoint!.requests).toHaveLength(3);
  });

  it("leaves an endpoint that asked to be left alone (Retry-After) alone that long, across tellings", async () => {
    let waits = true;
    const subject = await narrator(
      () => (waits ? { status: 429, retryAfter: "1" } : { chunks: ["Again."] }),
      {
        timeoutMs: 300,
        retries: 2,
      },
    );
    expect(((await subject.narrate(request([])).catch((e: unknown) => e)) as NarratorError).reason).toBe(
      "error",
    );
    expect(endpoint!.requests).toHaveLength(1);
    // the next telling is not asked of it before the second is over
    waits = false;
    const resting = await subject.narrate(request([])).catch((e: unknown) => e);
    expect((resting as NarratorError).message).toContain("not asked: it asked to be left alone");
    expect(endpoint!.requests).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect((await subject.narrate(request([]))).text).toBe("Again.");
    expect(endpoint!.requests).toHaveLength(2);
  });

  it("a broken stream after prose is an error, not a retry", async () => {
    const subject = await narrator(() => ({ chunks: ["One ", "two ", "three"], breakAfter: 2 }));
    const chunks: string[] = [];
    const error = await subject.narrate(request(chunks)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NarratorError);
    expect(chunks).toEqual(["One ", "two "]);
    expect(endpoint!.requests).toHaveLength(1);
  });

  it("a stream that is no JSON is an error, and the SDK prints nothing of it", async () => {
    const subject = await narrator(() => ({ malformed: "{not json at all" }), { retries: 1 });
    const printed: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = function (this: NodeJS.WriteStream, ...args: Parameters<typeof write>) {
      printed.push(String(args[0]));
      return write.apply(this, args);
    } as typeof write;
    try {
      const error = await subject.narrate(request([])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NarratorError);
      expect((error as NarratorError).message).toMatch(/malformed/);
      expect(endpoint!.requests).toHaveLength(2);
      // a worker's console reaches this thread's stderr a turn of its loop later
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.stderr.write = write;
    }
    expect(printed.join("")).not.toContain("Could not parse");
  });

  it("streams many narrations at once, each its own pieces in order", async () => {
    const pieces = (seed: number) => [`${seed}a `, `${seed}b `, `${seed}c`];
    const subject = await narrator((_, seen) => ({ chunks: pieces(seen.body.seed!), chunkDelayMs: 2 }));
    const told = Array.from({ length: 40 }, () => [] as string[]);
    const outputs = await Promise.all(
      told.map((chunks, seed) => subject.narrate(request(chunks, new AbortController().signal, seed))),
    );
    told.forEach((chunks, seed) => {
      expect(chunks).toEqual(pieces(seed));
      expect(outputs[seed]!.text).toBe(pieces(seed).join(""));
    });
  });

  it("an aborted narration stops its stream; others sharing the signal stop too", async () => {
    // the second piece would come after 20 s: a narration that ends sooner was stopped
    const subject = await narrator(() => ({
      chunks: ["Begun ", "never ", "finished"],
      chunkDelayMs: 20_000,
    }));
    const closing = new AbortController();
    const first: string[] = [];
    const narrations = [
      subject.narrate(request(first, closing.signal)),
      subject.narrate(request([], closing.signal)),
    ];
    while (first.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    closing.abort();
    const errors = await Promise.all(narrations.map((n) => n.catch((e: unknown) => e)));
    for (const error of errors) expect((error as NarratorError).reason).toBe("aborted");
    expect(first).toEqual(["Begun "]);
  });

  it("an endpoint nobody listens on is an error once its retries are spent", async () => {
    const gone = await startChatServer(() => ({}));
    const url = gone.url;
    await gone.close();
    const subject = new OpenAiNarrator({
      url,
      model: "story-7b",
      apiKey: null,
      timeoutMs: 2_000,
      retries: 1,
      backoffMs: 10,
      maxTokens: 200,
      temperature: 0.7,
      promptBudget: 1_500,
    });
    try {
      const error = await subject.narrate(request([])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NarratorError);
      expect((error as NarratorError).reason).toBe("error");
      // unreachable (no answer at all, as the chat thread tells it): left alone for a while
      const resting = await subject.narrate(request([])).catch((e: unknown) => e);
      expect((resting as NarratorError).reason).toBe("error");
      expect((resting as NarratorError).message).toContain("not asked: it could not be reached");
    } finally {
      await subject.close();
    }
  });

  it("follows a 307 within the endpoint's origin with the same request, and refuses a 308 to another origin", async () => {
    // a 307 within the same server: followed, the key with it
    const subject = await narrator((_, seen) =>
      seen.path.startsWith("/v1/")
        ? { redirect: "/temporary/chat/completions" }
        : { chunks: ["Moved ", "on."] },
    );
    const to = endpoint!.url;
    // a 308 to the endpoint on another port: the prompt goes to the endpoint configured only
    const moved = createServer((req, res) => {
      res.writeHead(308, { location: `${to}/chat/completions` });
      res.end();
    });
    await new Promise<void>((resolve) => moved.listen(0, "127.0.0.1", resolve));
    const elsewhere = new OpenAiNarrator({
      ...options(`http://127.0.0.1:${(moved.address() as AddressInfo).port}/v1`),
      retries: 0,
    });
    try {
      const output = await subject.narrate(request([]));
      expect(output.text).toBe("Moved on.");
      const seen = endpoint!.requests[1]!;
      expect(seen.path).toBe("/temporary/chat/completions");
      expect(seen.body.stream).toBe(true);
      expect(seen.body.seed).toBe(1234);
      expect(seen.authorization).toBe("Bearer sk-test");
      const asked = endpoint!.requests.length;
      const refused = await elsewhere.narrate(request([])).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(NarratorError);
      expect(refused).toMatchObject({ reason: "error" });
      expect((refused as Error).message).toMatch(
        /redirected to http:\/\/127\.0\.0\.1:\d+, another origin: not followed/,
      );
      expect(endpoint!.requests.length).toBe(asked);
    } finally {
      await subject.close();
      await elsewhere.close();
      moved.close();
    }
  });

  // Linux: a thread's niceness is its own, the 19th field of /proc/<pid>/task/<tid>/stat
  it.runIf(process.platform === "linux")(
    "talks to the model from a thread at niceness 10 unless configured, leaving the rooms' thread as it was",
    async () => {
      const niceOf = (thread: number) => {
        const stat = readFileSync(`/proc/${process.pid}/task/${thread}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
      };
      const rooms = niceOf(process.pid);
      const lowest = await narrator(() => ({}));
      const configured = new OpenAiNarrator({ ...options(endpoint!.url), threadNice: Math.max(rooms, 17) });
      try {
        await configured.ready();
        const given = lowest.threadPriority!;
        expect(given.failure).toBeNull();
        expect(given.thread).not.toBe(process.pid);
        expect(niceOf(given.thread!)).toBe(Math.max(rooms, 10));
        expect(given.nice).toBe(Math.max(rooms, 10));
        expect(niceOf(configured.threadPriority!.thread!)).toBe(Math.max(rooms, 17));
        // the thread still narrates, and the rooms' thread keeps its priority
        expect((await lowest.narrate(request([]))).text).toBe("The tide turns.");
        expect(niceOf(process.pid)).toBe(rooms);
      } finally {
        await lowest.close();
        await configured.close();
      }
    },
  );
});
