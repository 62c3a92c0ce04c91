import { writeFileSync } from 'node:fs';
import proto from '@temporalio/proto';

const { temporal } = proto;

/** Where test/unit/replay.test.ts finds the recorded histories it replays. */
export const HISTORY_FIXTURES = 'test/fixtures/histories';

/**
 * Records `history` as `<HISTORY_FIXTURES>/<name>.binpb` when the environment variable `variable`
 * names the fixture; does nothing otherwise. A new name for each generation: older fixtures stay,
 * so every generation keeps replaying.
 */
export function recordHistoryFixture(variable: string, history: proto.temporal.api.history.v1.IHistory): void {
  const name = process.env[variable];
  if (name) writeFileSync(`${HISTORY_FIXTURES}/${name}.binpb`, temporal.api.history.v1.History.encode(history).finish());
}
