/** The value of one series (name and labels, exactly as exposed) in a Prometheus text exposition; NaN if absent. */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}
