// Subprocesses: run a program with pipes and talk to it.
import { PIPE, createSubprocessExec, run } from '@evloop/core-policy';

await run(async () => {
  const child = await createSubprocessExec(process.execPath, '-e', 'process.stdin.pipe(process.stdout)', {
    stdin: PIPE,
    stdout: PIPE,
  });
  const [stdout] = await child.communicate(Buffer.from('through a child process'));
  console.log(`${stdout.toString()} (exit ${child.returncode})`);
});
