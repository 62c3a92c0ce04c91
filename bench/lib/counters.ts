// What a process's Prometheus counters moved by over an interval: the footprint bench reads the
// worker's (the SDK's own among them) around its idle window, so "idle" is checked by what the
// worker did (tasks, polls, requests), not only by the CPU it spent.

/** Every counter and histogram count of a Prometheus text exposition, by series. */
export async function readCounters(url: string): Promise<Record<string, number>> {
  const text = await fetch(url, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text());
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const cut = line.lastIndexOf(' ');
    const series = line.slice(0, cut);
    const name = series.split('{')[0]!;
    if (!name.endsWith('_total') && !name.endsWith('_count')) continue;
    out[series] = Number(line.slice(cut + 1));
  }
  return out;
}

/** The series that moved, largest first. */
export function counterDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([series, value]) => [series, value - (before[series] ?? 0)] as const)
      .filter(([, moved]) => moved !== 0)
      .sort((a, b) => b[1] - a[1]),
  );
}
