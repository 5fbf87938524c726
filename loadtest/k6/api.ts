/** Loom's HTTP API and Colyseus matchmaking, from k6. */
import http from "k6/http";
import type { SeatReservation } from "./wire.ts";

function call<T>(method: "POST" | "GET", url: string, token: string | null, body?: unknown): T {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = http.request(method, url, body === undefined ? null : JSON.stringify(body), {
    headers,
    tags: { name: method + " " + url.replace(/\/[A-Za-z0-9_-]{16,}/g, "/:id") },
  });
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`${method} ${url} answered ${response.status}: ${String(response.body)}`);
  }
  return JSON.parse(String(response.body)) as T;
}

export interface Player {
  id: string;
  token: string;
}

export function registerPlayer(base: string, name: string): Player {
  const result = call<{ player: { id: string }; token: string }>("POST", `${base}/api/players`, null, {
    name,
  });
  return { id: result.player.id, token: result.token };
}

export function createUniverse(base: string, token: string, name: string): string {
  return call<{ universe: { id: string } }>("POST", `${base}/api/universes`, token, {
    name,
    premise: "A drowned coast under load",
    visibility: "public",
  }).universe.id;
}

export function createCharacter(
  base: string,
  token: string,
  universeId: string,
  name: string,
): { characterId: string; runId: string } {
  const result = call<{ character: { id: string }; run: { id: string } }>(
    "POST",
    `${base}/api/universes/${universeId}/characters`,
    token,
    {
      name,
      highConcept: `${name}, wandering cartographer`,
      trouble: "Owes the Salt Guild",
      aspects: [],
      skills: { Athletics: 2, Notice: 3, Fight: 2, Will: 1, Physique: 2 },
    },
  );
  return { characterId: result.character.id, runId: result.run.id };
}

/** Makes sure the universe's room is up, then reserves a seat in it. */
export function reserveSeat(
  base: string,
  token: string,
  universeId: string,
  options: { role: string; runId?: string },
): SeatReservation {
  call("POST", `${base}/api/universes/${universeId}/open`, token, {});
  return call<SeatReservation>("POST", `${base}/matchmake/joinById/${universeId}`, token, options);
}
