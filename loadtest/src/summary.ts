import type { FindMaxReport } from "./find-max.ts";
import type { LoadReport, PhaseReport } from "./harness.ts";
import type { LatencySummary } from "./histogram.ts";

const latency = (l: LatencySummary) =>
  l.count === 0 ? "n/a" : `p50 ${l.p50} / p95 ${l.p95} / p99 ${l.p99} / max ${l.max} ms (${l.count})`;

const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;

function phase(report: PhaseReport): string[] {
  const { window: w, integrity: i } = report;
  const rejected =
    Object.entries(w.rejected)
      .map(([code, n]) => `${code} ${n}`)
      .join(", ") || "none";
  return [
    `${report.target}: ${report.mode}`,
    `  members        ${report.members.players} players, ${report.members.gms} GMs, ${report.members.spectators} spectators (seated in ${report.setupS} s)` +
      (Object.keys(report.members.dropped).length > 0
        ? `; DROPPED by the server: ${JSON.stringify(report.members.dropped)} (close code: members)`
        : ""),
    `  sent / acked   ${w.sent} / ${w.acked} in ${w.durationS} s; rejected: ${rejected}; unanswered ${w.unanswered}; skipped by a late client ${w.skipped}`,
    `  throughput     ${w.throughput.sentPerSecond} sent/s, ${w.throughput.ackedPerSecond} acked/s, ${w.throughput.broadcastsPerSecond} broadcasts received/s`,
    `  act→turn       ${latency(w.latencyMs.actToTurn)}`,
    `  act→ack        ${latency(w.latencyMs.actToAck)}`,
    `  act→durable    ${latency(w.latencyMs.actToDurable)}`,
    `  act→persisted  ${latency(w.latencyMs.actToPersisted)}`,
    `  event loops    clients ${percent(w.clientLoopBusy)} busy, late p99 ${w.clientLoopLag.p99Ms} / max ${w.clientLoopLag.maxMs} ms` +
      (report.server
        ? `; server ${percent(report.server.loopBusy)} busy, late p99 ${report.server.loopLag.p99Ms} / max ${report.server.loopLag.maxMs} ms`
        : "") +
      (w.clientLoopBusy >= 0.9 ? " (the clients' own queue is in the latencies above)" : ""),
    `  cpu            machine ${percent(w.cpu.machineBusy)} busy of ${w.cpu.cores} cores; load generator ${w.cpu.loadGenerator} cores` +
      (w.cpu.server === null ? "" : `, server ${w.cpu.server} cores`) +
      (w.cpu.machineBusy >= 0.9 ? " (waiting for a core is in the latencies above)" : ""),
    ...(report.server
      ? [
          `  in the server  act→ack p50 ${report.server.acts.p50Ms} / p99 ${report.server.acts.p99Ms} ms (${report.server.acts.count}); ` +
            `${report.server.commits.count} group commits of ${report.server.commits.turns} turns, p50 ${report.server.commits.p50Ms} / p99 ${report.server.commits.p99Ms} ms, ${report.server.commits.busyMs} ms committing` +
            (report.server.commits.failed > 0 ? `, ${report.server.commits.failed} FAILED` : ""),
        ]
      : []),
    ...contended(report),
    `  integrity      ${i.ok ? "OK" : "FAILED"} (${i.source}): ${i.turnsStored} turns in ${i.universes} universes, ${i.ackedTurns} acknowledged; ` +
      `lost ${i.acked.lost}, duplicated ${i.acked.duplicated}, moved ${i.acked.moved}, gaps ${i.timeline.gaps}, ` +
      `member gaps ${i.members.gaps} / duplicates ${i.members.duplicates} / reordered ${i.members.reordered} / behind ${i.members.behind} / mismatched ${i.members.mismatched} of ${i.members.checked}`,
  ];
}

/** The phase's second window, with busy processes beside it. */
function contended(report: PhaseReport): string[] {
  if (!report.contended) return [];
  const { hog, window: w, server } = report.contended;
  return [
    `  with ${hog} busy core${hog === 1 ? "" : "s"} beside it: ${w.acked} acked, act→turn ${latency(w.latencyMs.actToTurn)}`,
    `    act→persisted ${latency(w.latencyMs.actToPersisted)}; machine ${percent(w.cpu.machineBusy)} busy` +
      (w.cpu.server === null ? "" : `, server ${w.cpu.server} cores`) +
      (server ? `; in the server act→ack p50 ${server.acts.p50Ms} / p99 ${server.acts.p99Ms} ms` : ""),
  ];
}

export function describeLoad(report: LoadReport): string {
  const lines = ["", "── Loom load test ──"];
  const pinned = report.scenario.pinned;
  if (pinned) lines.push(`pinned: servers to CPU ${pinned.server}, the load generator to CPU ${pinned.load}`);
  lines.push(...phase(report.loom));
  if (report.bare) lines.push(...phase(report.bare));
  if (report.ratios)
    lines.push(
      `Loom ÷ bare: throughput ${report.ratios.throughput}, act→turn p99 ${report.ratios.p99} (target ≤ 1.5)`,
    );
  const c = report.contention;
  if (c)
    lines.push(
      `under contention act→turn p99 grew ×${c.loom} (Loom)` +
        (c.ratio === undefined ? "" : `, ×${c.bare} (bare); Loom ÷ bare ${c.ratio} (target ≤ 1.5)`),
    );
  const t = report.targets;
  lines.push(
    `targets: no lost/duplicated/reordered turn ${t.lossless ? "met" : "MISSED"}; ` +
      `p99 ≤ 1.5× bare ${t.p99WithinBudget === null ? "not measured (no --baseline)" : t.p99WithinBudget ? "met" : "MISSED"}; ` +
      `act→persisted p99 ≤ 1 s ${t.persistedP99Within1s ? "met" : "MISSED"}; ` +
      `no session dropped by a server ${t.noDroppedSessions ? "met" : "MISSED"}` +
      (t.contentionWithinBudget === null
        ? ""
        : `; degrades ≤ 1.5× the bare room under contention ${t.contentionWithinBudget ? "met" : "MISSED"}`),
  );
  return lines.join("\n");
}

export function describeSearch(report: FindMaxReport): string {
  const lines = [
    "",
    `── rate search (act→turn p99 ≤ ${report.search.p99BudgetMs} ms, ${report.search.characters} characters in ${report.search.universes} universes) ──`,
  ];
  for (const result of [report.loom, report.bare]) {
    if (!result) continue;
    lines.push(
      `${result.target}: max ${result.maxActionsPerSecond} actions/s (at ${result.maxRatePerCharacter}/s per character); integrity ${result.integrityOk ? "OK" : "FAILED"}`,
    );
    for (const s of result.steps) {
      lines.push(
        `  ${s.ratePerCharacter}/s${s.retry ? " again" : ""} → ${s.ackedPerSecond} acked/s, p99 ${s.p99} ms, rejected ${s.rejected}, unanswered ${s.unanswered}, skipped ${s.skipped}, machine ${percent(s.cpu.machineBusy)} busy, clients late ≤ ${s.clientLoopLag.maxMs} ms${s.serverLoopLag ? `, server late ≤ ${s.serverLoopLag.maxMs} ms` : ""}${s.withinBudget ? "" : " (over)"}`,
      );
    }
  }
  if (report.ratio !== undefined) lines.push(`Loom ÷ bare max: ${report.ratio}`);
  return lines.join("\n");
}
