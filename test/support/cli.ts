/** The command run in-process, as a user's shell would run it: its exit code and what it printed. */
import { main } from '../../src/cli.js';

export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, ...(cwd ? { cwd } : {}) });
  return { code, stdout, stderr };
}
