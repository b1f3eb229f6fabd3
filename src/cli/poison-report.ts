/** The poison jobs of a status or of a refused index build, in the command's words. */
import { queueLabel, type PoisonCheck, type PoisonField, type PoisonJob } from '../catalog/poison.js';

/** What a bad field stops in AsyncMQ, for the line on its queue. */
const STOPS: Record<PoisonField, string> = {
  priority: "a waiting one makes every dequeue of the queue fail (AsyncMQ 0.9 orders by COALESCE((data ->> 'priority')::int, 5))",
  delay_until: "a delayed one makes every scan of the queue's due jobs fail ((data ->> 'delay_until')::float)",
};

const shown = (job: PoisonJob) =>
  [job.priority !== undefined && `priority ${JSON.stringify(job.priority)}`, job.delayUntil !== undefined && `delay_until ${JSON.stringify(job.delayUntil)}`]
    .filter(Boolean)
    .join(', ');

/** Lines for one check; `indent` before each. */
export function describePoison(check: PoisonCheck, indent = ''): string[] {
  const fields = check.fields.join(' and ');
  if (check.state === 'not-checked') return [`${indent}poison jobs in ${check.table}: not checked (${fields}): ${check.reason}`];
  if (check.queueCount === 0) {
    const how = check.state === 'proven' ? check.reason : `none whose ${fields} AsyncMQ cannot cast${check.reason ? `; ${check.reason}` : ''}`;
    return [`${indent}poison jobs in ${check.table}: ${how}`];
  }
  const lines = [
    `${indent}poison jobs in ${check.table}: ${check.queueCount} queue(s) hold jobs whose ${fields} AsyncMQ cannot cast; ` +
      'no index of that cast can be built while they remain',
  ];
  for (const queue of check.queues) {
    lines.push(`${indent}  queue ${queueLabel(queue.queue)}: ${queue.count} job(s); ${queue.fields.map((f) => STOPS[f]).join('; ')}`);
    for (const job of queue.jobs) lines.push(`${indent}    ${job.jobId} (${job.status ?? 'no status'}): ${shown(job)}`);
    if (queue.count > queue.jobs.length) lines.push(`${indent}    and ${queue.count - queue.jobs.length} more`);
    for (const fix of queue.fixes) lines.push(`${indent}    fix: ${fix};`);
    lines.push(`${indent}    or remove them: ${queue.remove};`);
  }
  if (check.queueCount > check.queues.length) lines.push(`${indent}  and ${check.queueCount - check.queues.length} more queue(s); run status again once these are done`);
  return lines;
}
