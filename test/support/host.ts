import { startHostProcess } from '../../dev/host/process.js';

/** Starts a host expecting it to fail at start-up; resolves with what it printed. */
export async function startHostExpectingFailure(settings: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  try {
    const host = await startHostProcess(settings);
    await host.stop();
    throw new Error('the host started');
  } catch (err) {
    const message = (err as Error).message;
    const match = /^host exited with (\d+|null):\n([\s\S]*)$/.exec(message);
    if (!match) throw err;
    return { code: match[1] === 'null' ? null : Number(match[1]), output: match[2] };
  }
}
