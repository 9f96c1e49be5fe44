/** The human form of a health report: short tables, worst news first. */
import { type HealthReport, memoryFull, mib, type StreamHealth } from "./healthReport.js";

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  return cells.map((r) => r.map((cell, c) => cell.padEnd(widths[c] as number)).join("  ").trimEnd()).join("\n");
}

function streamRows(streams: StreamHealth[]): (string | number)[][] {
  return streams.flatMap((s) =>
    s.groups.length === 0
      ? [[s.key, s.type === "stream" ? s.length : s.type, "-", "-", "-"]]
      : s.groups.map((g) => [s.key, s.length, g.name, g.pending, g.lag ?? "?"]),
  );
}

/**
 * The report as text for a terminal (what `mathd health` prints without `--json`): the verdict
 * line, the server with its problems and warnings, then the databases, TTL audit, scripts (and
 * their server time) and streams as short tables.
 */
export function renderHealth(report: HealthReport): string {
  const out: string[] = [];
  const problems = report.problems.length + (report.cluster?.problems.length ?? 0);
  const keys = report.violations - problems;
  const warnings = report.warnings.length + (report.cluster?.warnings.length ?? 0);
  const verdict = {
    // a warning leaves the exit code alone, but "HEALTHY" alone read as all clear
    healthy: warnings > 0 ? `HEALTHY, ${warnings} warning${warnings === 1 ? "" : "s"}` : "HEALTHY",
    violations: [problems > 0 ? `PROBLEMS: ${problems}` : "", keys > 0 || problems === 0 ? `POLICY VIOLATIONS: ${keys} keys` : ""].filter(Boolean).join(", "),
    unreachable: `REDIS UNREACHABLE (${report.failure ?? "unknown"})`,
    denied: `INCOMPLETE: ${report.denied.length} checks denied by the ACL`,
    incomplete: `INCOMPLETE: ${report.incomplete.length} checks not done in time`,
  }[report.status];
  out.push(`mathd health  ${report.target}  ${report.checkedAt}  ${verdict}`);
  if (report.status === "unreachable") {
    out.push(`error: ${report.error ?? "unknown"}`);
    return out.join("\n");
  }
  for (const d of report.denied) out.push(`denied: ${d.check}: ${d.error}`);
  for (const i of report.incomplete) out.push(`incomplete: ${i.check}: ${i.error}`);
  const r = report.redis;
  if (r) {
    const ping = r.pingMs ? `  ping ${r.pingMs.median.toFixed(2)} ms (min ${r.pingMs.min.toFixed(2)}, max ${r.pingMs.max.toFixed(2)})` : "";
    const limit = r.maxMemoryBytes ? ` of ${mib(r.maxMemoryBytes)} (${((100 * r.usedMemoryBytes) / r.maxMemoryBytes).toFixed(0)} %)` : " (no maxmemory)";
    out.push(`redis ${r.version}  memory ${mib(r.usedMemoryBytes)}${limit}, maxmemory-policy ${r.maxMemoryPolicy}, ${r.evictedKeys} keys evicted${ping}`);
  }
  for (const p of report.problems) out.push(`problem: ${p}`);
  for (const w of report.warnings) out.push(`warning: ${w}`);
  out.push("", table(["db", "name", "keys"], report.databases.map((d) => [d.db, d.name, d.keys])));
  const audit = report.ttlAudit.map((a) => [a.db, a.family, a.sampled, a.withoutTtl, a.aboveTtlPolicy, a.policySeconds, a.examples.join(" ")]);
  out.push("", "TTL audit (SCAN sample)", table(["db", "family", "sampled", "no ttl", "ttl > policy", "policy s", "examples"], audit));
  const missing = report.scripts.filter((s) => !s.loaded);
  out.push("", `scripts: ${report.scripts.length - missing.length}/${report.scripts.length} loaded` + (missing.length ? ` (not loaded: ${missing.map((s) => s.name).join(", ")}; the SDK loads them on first use)` : ""));
  const t = report.scriptTime;
  if (t) {
    const failed = (t.failedCalls ? `, ${t.failedCalls} answered an error` : "") + (t.rejectedCalls ? `, ${t.rejectedCalls} refused before they ran` : "");
    out.push(`script time: ${t.calls} calls since the stats reset (every client's), ${t.usecPerCall.toFixed(1)} us a call, ${(100 * t.shareOfCommandTime).toFixed(1)} % of the server's command time (at least)${failed}`);
  }
  const l = report.libraries;
  if (l) {
    // at maxmemory under noeviction FUNCTION LOAD is refused: a problem above says so
    const when = report.redis && memoryFull(report.redis) ? "a problem: memory is full" : "the SDK loads them on first use";
    const notLoaded = l.missing.filter((name) => !l.otherBuild.includes(name));
    const absent = notLoaded.length ? ` (not loaded: ${notLoaded.join(", ")}; ${when})` : "";
    const foreign = l.otherBuild.length ? `; another build's code under: ${l.otherBuild.join(", ")} (a problem)` : "";
    const others = l.others.length ? `; not used by this build: ${l.others.join(", ")} (mathd scripts prune)` : "";
    out.push(`Functions libraries: ${l.total - l.missing.length}/${l.total} of this build loaded${absent}${foreign}${others}`);
  }
  const streams = [...(report.alertsQueue ? [report.alertsQueue] : []), ...report.tickStreams];
  out.push("", table(["stream", "length", "group", "pending", "lag"], streamRows(streams)));
  const c = report.cluster;
  if (c) {
    const nodes = c.nodes.map((n) => [
      n.address,
      n.role,
      n.clusterState,
      n.scriptsMissing.length === 0 ? "all" : `${n.scriptsMissing.length} missing`,
      n.library,
      n.masterLink ?? "-",
      n.lagBytes ?? "-",
      n.scriptTime.calls,
      n.scriptTime.calls > 0 ? n.scriptTime.usecPerCall.toFixed(1) : "-",
    ]);
    const columns = ["node", "role", "state", "scripts", "library", "link", "lag bytes", "script calls", "us a call"];
    out.push("", `cluster: ${c.slotsOk}/16384 slots served`, table(columns, nodes));
    for (const p of c.problems) out.push(`problem: ${p}`);
    for (const w of c.warnings) out.push(`warning: ${w}`);
  }
  return out.join("\n");
}
