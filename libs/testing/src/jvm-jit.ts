import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) in a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` file. */
export function statCpuSeconds(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ = 100 on Linux
}

/**
 * CPU seconds (user + system) a JVM's JIT compiler threads (`C1/C2 CompilerThread*`) have used,
 * from /proc; 0 when the process is gone. A fresh Kafka broker compiles its hot paths for minutes
 * (on this machine kind one C2 thread took 55–60 % of a core in the first minute at 100 ev/s and
 * 2 % two minutes later): a one-time cost a long-running broker paid long ago, which benchmarks
 * report apart and wait out before measuring.
 */
export function jvmJitCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  let seconds = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tids) {
    try {
      if (!/^C[12] CompilerThre/.test(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8')))
        continue;
      seconds += statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      // the thread ended
    }
  }
  return seconds;
}
