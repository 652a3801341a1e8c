/** Test helper: run the CLI in-process and capture its output and exit code. */
import { main } from '../../src/cli/main.ts';

function sink() {
  let text = '';
  return {
    write: (s: string) => (text += s),
    get text() {
      return text;
    },
  };
}

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(argv, { stdout: out, stderr: err });
  return { code, out: out.text, err: err.text };
}
