/**
 * An index that holds one of AsyncMQ's casts (`COALESCE((data ->> 'priority')::int, 5)`,
 * `(data ->> 'delay_until')::float`) evaluates it for every row, and CREATE INDEX CONCURRENTLY
 * fails on the first row it cannot cast, leaving an INVALID index behind. So such a build is
 * preceded by a read of the table for those rows (catalog/poison.ts), and refused, with them,
 * when there are any. A row written between that read and the build makes the build fail all
 * the same: the INVALID index it leaves is dropped at once, and the table read again to say which.
 */
import { castsOf, isCastFailure, readPoisonJobs, type PoisonCheck } from '../catalog/poison.js';
import type { MissingIndex } from '../catalog/compare.js';
import type { Session, Step } from '../connection/drivers/index.js';
import { renderDropIndex } from '../schema/ddl.js';

/**
 * Runs `build` unless the table holds rows the index's casts cannot read; returns those rows when
 * it refused (nothing built, nothing left behind), undefined when it built. On the build session,
 * whose timeouts are lifted: the read takes as long as the table needs, like the build.
 */
export async function buildUnlessPoisoned(session: Session, run: Step, item: MissingIndex, build: () => Promise<void>): Promise<PoisonCheck | undefined> {
  const fields = castsOf(item.index);
  if (fields.length === 0) {
    await build();
    return undefined;
  }
  const read = () => run(`reading ${item.shape.name} for jobs whose ${fields.join(' or ')} the index ${item.index.name} cannot cast`, () => readPoisonJobs(session, item.shape, fields), 'long');
  const before = await read();
  if (before.queueCount > 0) return before;
  try {
    await build();
    return undefined;
  } catch (error) {
    if (!isCastFailure(error) || !session.canSendAfter(error)) throw error;
  }
  const drop = renderDropIndex(item.shape.schema, item.index.name, { concurrently: true });
  await run(`dropping the INVALID index the refused build left: ${drop}`, () => session.unsafe(drop), 'long');
  const after = await read();
  return after.queueCount > 0 ? after : { ...after, reason: 'a job the casts cannot read was written during the build and is gone again; run the build again' };
}
